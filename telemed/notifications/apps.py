from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "telemed.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # The subscribers of "consultation.changed" (telling people, and the live board) and
        # the turnaround sweep that `telemed serve` runs every minute.
        from telemed.consultations import realtime
        from telemed.core import events, jobs
        from telemed.notifications import rules, sweep

        # The board after commit; the notifications are written with the action itself.
        events.subscribe("consultation.changed", realtime.on_consultation_changed)
        events.subscribe("consultation.changed", rules.on_consultation_changed, in_transaction=True)
        jobs.register("turnaround-sweep", 60, sweep.sweep_overdue)
