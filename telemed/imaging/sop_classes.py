"""The image storage SOP classes the imaging app receives (ECG waveforms and slide images
are registered by their own apps)."""

from __future__ import annotations

from pynetdicom import sop_class

_KEYWORDS = (
    "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "CTImageStorage",
    "EnhancedCTImageStorage",
    "MRImageStorage",
    "EnhancedMRImageStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiFrameImageStorage",
    "SecondaryCaptureImageStorage",
    "MultiFrameSingleBitSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
    "MultiFrameTrueColorSecondaryCaptureImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiofluoroscopicImageStorage",
    "NuclearMedicineImageStorage",
    "PositronEmissionTomographyImageStorage",
    "EnhancedPETImageStorage",
)

IMAGE_STORAGE: frozenset[str] = frozenset(str(getattr(sop_class, name)) for name in _KEYWORDS)
