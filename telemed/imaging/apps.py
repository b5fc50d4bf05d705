from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagingConfig(AppConfig):
    name = "telemed.imaging"
    label = "imaging"
    verbose_name = _("Imaging diagnosis")

    def ready(self) -> None:
        # Image SOP classes go to imaging at the DICOM border; the imaging kind registers
        # its step policy (QC with the study's automatic checks).
        from telemed.core import body_limits
        from telemed.imaging import kinds, node
        from telemed.imaging.dicomweb.stow import max_upload_bytes

        node.connect()
        kinds.register_policy()
        # STOW-RS bodies are whole studies; they are spooled part by part, never in memory.
        body_limits.register("/dicomweb/", max_upload_bytes)
