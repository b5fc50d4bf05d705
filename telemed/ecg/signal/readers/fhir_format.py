"""fhir ECG reader (first version: refuses everything; filled in next)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.record import EcgRecord


def read_fhir(content: bytes) -> EcgRecord:
    raise EcgFormatError(_("This ECG format is not supported yet."))
