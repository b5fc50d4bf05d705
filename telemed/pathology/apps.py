from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PathologyConfig(AppConfig):
    name = "telemed.pathology"
    label = "pathology"
    verbose_name = _("Pathology diagnosis")

    def ready(self) -> None:
        # The pathology kind's step policy (QC with the slides' automatic checks), and the
        # upload prefix's own body limit: slides are gigabytes, streamed to the blob store.
        from telemed.core import body_limits, jobs
        from telemed.pathology import kinds, slides, tus
        from telemed.pathology.views import UPLOAD_PREFIX

        kinds.register_policy()
        body_limits.register(UPLOAD_PREFIX, slides.max_bytes)
        body_limits.register(tus.PREFIX, slides.max_bytes)
        jobs.register("pathology-abandoned-uploads", 3600, tus.sweep_abandoned)
