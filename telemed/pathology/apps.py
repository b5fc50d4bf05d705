from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PathologyConfig(AppConfig):
    name = "telemed.pathology"
    label = "pathology"
    verbose_name = _("Pathology diagnosis")
