from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "telemed.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from telemed.audit import protection  # noqa: F401  (connects the connection hook)
