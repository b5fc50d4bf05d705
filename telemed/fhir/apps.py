from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    name = "telemed.fhir"
    label = "fhir"
    verbose_name = _("FHIR API")

    def ready(self) -> None:
        # Refusals made before the FHIR views run are OperationOutcomes too.
        from telemed.core import body_limits
        from telemed.fhir.errors import border_outcome

        body_limits.register_renderer("/fhir", border_outcome)
