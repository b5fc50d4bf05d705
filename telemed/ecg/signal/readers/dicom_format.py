"""DICOM waveform objects: 12-lead ECG, General ECG and Ambulatory ECG."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import build_record, lead_name, unit_factor
from telemed.ecg.signal.record import EcgRecord

#: SOP classes accepted (PS3.4 B.5): 12-lead ECG, General ECG, Ambulatory ECG.
ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG",
}
# Lead codes of the two coding schemes carts use (SCPECG and MDC), by the code's last part.
_SCPECG = {
    "1": "I",
    "2": "II",
    "3": "V1",
    "4": "V2",
    "5": "V3",
    "6": "V4",
    "7": "V5",
    "8": "V6",
    "61": "III",
    "62": "aVR",
    "63": "aVL",
    "64": "aVF",
}
_MDC = {f"2:{code}": name for code, name in _SCPECG.items()}


def read_dicom(content: bytes) -> EcgRecord:
    """Read the first ECG multiplex group of a DICOM waveform object (microvolts)."""
    try:
        ds = pydicom.dcmread(io.BytesIO(content), force=False)
    except Exception as exc:  # pydicom raises many kinds on a damaged file
        raise _unreadable(exc) from None
    return dataset_to_record(ds)


def dataset_to_record(ds: pydicom.Dataset) -> EcgRecord:
    """Convert a DICOM ECG dataset already parsed (for the C-STORE and STOW-RS intake)."""
    try:
        return _convert(ds)
    except EcgFormatError:
        raise
    except Exception as exc:
        # pydicom decodes element values when they are first read, so a damaged element
        # (an unknown VR, a length that is not a multiple of its value size) raises here,
        # as NotImplementedError, BytesLengthException or worse.
        raise _unreadable(exc) from None


def _unreadable(exc: Exception) -> EcgFormatError:
    # pydicom's own text speaks to programmers ("use force=True"): kept in the details.
    return EcgFormatError(
        _("The file is not a readable DICOM object."),
        details={"reason": f"{type(exc).__name__}: {exc}"[:200]},
    )


def _convert(ds: pydicom.Dataset) -> EcgRecord:
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in ECG_SOP_CLASSES:
        raise EcgFormatError(
            _("The DICOM object is not an ECG waveform (SOP class %(uid)s).")
            % {"uid": sop_class or _("(none)")},
            details={"sop_class_uid": sop_class},
        )
    groups: list[pydicom.Dataset] = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise EcgFormatError(_("The DICOM ECG object holds no waveform."))
    try:
        index = _rhythm_group(groups)
        group = groups[index]
        rate = float(group.SamplingFrequency)
        samples = ds.waveform_array(index)  # (samples, channels), sensitivity applied
        definitions = list(group.ChannelDefinitionSequence)
    except (AttributeError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise EcgFormatError(
            _("The DICOM ECG waveform could not be decoded: %(reason)s")
            % {"reason": str(exc)[:200]}
        ) from None
    if samples.ndim != 2 or samples.shape[1] != len(definitions):
        raise EcgFormatError(_("The DICOM ECG waveform's channels do not match their definitions."))
    names = [_channel_name(ch, i) for i, ch in enumerate(definitions)]
    channels = [
        np.asarray(samples[:, i], dtype=float) * unit_factor(_channel_unit(ch), lead=names[i])
        for i, ch in enumerate(definitions)
    ]
    meta = {
        "patient_id": str(ds.get("PatientID", "")),
        "acquired": str(ds.get("AcquisitionDateTime", "") or ds.get("ContentDate", "")),
        "device": " ".join(
            str(ds.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName") if ds.get(k)
        ),
        "sop_class": ECG_SOP_CLASSES[sop_class],
        "sop_instance_uid": str(ds.get("SOPInstanceUID", "")),
    }
    return build_record(
        sampling_rate=rate, leads=names, channels=channels, source_format="dicom", meta=meta
    )


def _rhythm_group(groups: list[pydicom.Dataset]) -> int:
    # A 12-lead object may carry a RHYTHM group and a MEDIAN (representative beat) group;
    # the rhythm is the recording.
    for index, group in enumerate(groups):
        if str(group.get("MultiplexGroupLabel", "")).upper() != "MEDIAN":
            return index
    return 0


def _channel_name(channel: pydicom.Dataset, index: int) -> str:
    sources = channel.get("ChannelSourceSequence") or []
    if sources:
        source = sources[0]
        code = str(source.get("CodeValue", ""))
        scheme = str(source.get("CodingSchemeDesignator", "")).upper()
        if scheme == "SCPECG" and code.startswith("5.6.3-9-"):
            found = _SCPECG.get(code.rsplit("-", 1)[-1])
            if found:
                return found
        if scheme == "MDC" and code in _MDC:
            return _MDC[code]
        meaning = str(source.get("CodeMeaning", "")).strip()
        if meaning:
            return lead_name(meaning)
    label = str(channel.get("ChannelLabel", "")).strip()
    return lead_name(label) if label else f"channel {index + 1}"


def _channel_unit(channel: pydicom.Dataset) -> str | None:
    units = channel.get("ChannelSensitivityUnitsSequence") or []
    if not units:
        return None
    return str(units[0].get("CodeValue", "")) or None
