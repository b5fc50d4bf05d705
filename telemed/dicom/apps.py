from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DicomConfig(AppConfig):
    name = "telemed.dicom"
    label = "dicom"
    verbose_name = _("DICOM node")

    def ready(self) -> None:
        from telemed.core import listeners
        from telemed.dicom.listener import serve

        listeners.register("dicom", serve)
