from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EcgConfig(AppConfig):
    name = "telemed.ecg"
    label = "ecg"
    verbose_name = _("ECG diagnosis")

    def ready(self) -> None:
        from telemed.core import body_limits, events
        from telemed.ecg import jobs, node, policy, realtime

        policy.connect()
        node.connect()
        events.subscribe("consultation.changed", realtime.on_consultation_changed)
        jobs.connect()
        for prefix in ("/api/ecg/cases", "/ecg/new/"):
            body_limits.register(prefix, jobs.upload_limit)
