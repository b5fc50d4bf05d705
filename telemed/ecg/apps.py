from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EcgConfig(AppConfig):
    name = "telemed.ecg"
    label = "ecg"
    verbose_name = _("ECG diagnosis")

    def ready(self) -> None:
        from telemed.ecg import policy

        policy.connect()
