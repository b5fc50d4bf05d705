from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultationsConfig(AppConfig):
    name = "telemed.consultations"
    label = "consultations"
    verbose_name = _("Consultations")

    def ready(self) -> None:
        # The multidisciplinary kind registers its step policy; other kinds register theirs
        # from their own apps.
        from telemed.consultations import attachments, kinds, video  # noqa: F401
        from telemed.consultations.views_media import UPLOAD_PREFIX
        from telemed.core import body_limits

        body_limits.register(UPLOAD_PREFIX, attachments.max_bytes)
        video.connect()
