from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "telemed.exchange"
    label = "exchange"
    verbose_name = _("Data exchange")

    def ready(self) -> None:
        from django.conf import settings

        from telemed.core import events, jobs, listeners
        from telemed.exchange import adt, mllp, orders, outbound  # noqa: F401 (handlers)

        listeners.register("mllp", mllp.serve)
        # In the signing transaction: the outbox row exists exactly when the conclusion does.
        events.subscribe(
            "consultation.changed", outbound.on_consultation_changed, in_transaction=True
        )
        jobs.register("outbound-delivery", settings.DELIVERY_EVERY_SECONDS, outbound.deliver_due)
