"""What every reader shares: the size limit, lead names, units and the final validation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import IO

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.record import STANDARD_LEADS, EcgRecord

#: Accepted sampling rates (Hz): below 100 Hz the QRS is not resolved; above 10 kHz no
#: diagnostic cart records, and the value is more likely a unit mistake than a real rate.
MIN_RATE_HZ = 100.0
MAX_RATE_HZ = 10_000.0
#: The shortest record accepted: 2.5 s is what the standard 12-lead layout shows per lead,
#: and it holds at least one full RR interval down to 24 bpm, so a rate can be measured.
MIN_DURATION_S = 2.5
#: At most this many leads in one record (12 standard + Frank XYZ + a few extra channels).
MAX_LEADS = 32

#: Unit strings as they appear in WFDB headers, DICOM, aECG and FHIR, to microvolts.
_UNIT_FACTORS = {
    "v": 1e6,
    "mv": 1e3,
    "uv": 1.0,
    "µv": 1.0,
    "μv": 1.0,
    "microvolt": 1.0,
    "microvolts": 1.0,
    "millivolt": 1e3,
    "millivolts": 1e3,
    "nv": 1e-3,
}

_CANONICAL = {name.lower(): name for name in STANDARD_LEADS}


Upload = bytes | IO[bytes]


def max_bytes() -> int:
    return int(getattr(settings, "ECG_MAX_BYTES", 20 * 1024 * 1024))


def read_limited(uploads: Mapping[str, Upload]) -> dict[str, bytes]:
    """The uploaded files as bytes, refusing (413) once their total passes ``ECG_MAX_BYTES``.

    A file object is read at most one byte past the limit, so an oversized upload is never
    held whole in memory.
    """
    limit = max_bytes()
    total = 0
    out: dict[str, bytes] = {}
    for name, upload in uploads.items():
        if isinstance(upload, bytes | bytearray | memoryview):
            data = bytes(upload)
        else:
            data = upload.read(limit - total + 1)
        total += len(data)
        if total > limit:
            raise EcgFormatError(
                _("The ECG record is larger than %(limit)d bytes.") % {"limit": limit},
                oversized=True,
                details={"limit_bytes": limit},
            )
        out[name] = data
    return out


def lead_name(raw: str) -> str:
    """A standard lead name (I, II, ..., aVR, V1..V6) for any common spelling ("ii",
    "Lead aVR", "MDC_ECG_LEAD_AVR"); any other name as found."""
    cleaned = raw.strip()
    # "Lead I (Einthoven)", "Lead aVR (Goldberger)": the parenthesis names the system.
    key = re.sub(r"\s*\([^)]*\)$", "", cleaned).lower()
    for prefix in ("mdc_ecg_lead_", "mdc_ecg_elec_potl_", "lead "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return _CANONICAL.get(key, cleaned)


def unit_factor(unit: str | None, *, lead: str = "") -> float:
    """The factor that turns ``unit`` into microvolts; refuses anything that is not a voltage."""
    key = (unit or "").strip().lower().replace(" ", "")
    if key in _UNIT_FACTORS:
        return _UNIT_FACTORS[key]
    raise EcgFormatError(
        _("Lead %(lead)s is in unit %(unit)s, which is not a voltage (expected mV or uV).")
        % {"lead": lead or "?", "unit": unit or _("(none)")},
        details={"lead": lead, "unit": unit or ""},
    )


def check_rate(rate: float) -> float:
    if not np.isfinite(rate) or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise EcgFormatError(
            _("The sampling rate %(rate)s Hz is outside the accepted 100 to 10,000 Hz.")
            % {"rate": f"{rate:g}"},
            details={"sampling_rate": float(rate) if np.isfinite(rate) else None},
        )
    return float(rate)


def build_record(
    *,
    sampling_rate: float,
    leads: Sequence[str],
    channels: Sequence[np.ndarray],
    source_format: str,
    meta: Mapping[str, str] | None = None,
) -> EcgRecord:
    """Validate the decoded channels (already in microvolts) and assemble the record.

    Refuses: no leads, duplicate or too many leads, leads of different lengths, non-finite
    samples, a rate outside 100-10,000 Hz, and a record shorter than ``MIN_DURATION_S``.
    """
    rate = check_rate(float(sampling_rate))
    names = tuple(lead_name(name) for name in leads)
    if not names or len(names) != len(channels):
        raise EcgFormatError(_("The ECG record has no leads."))
    if len(names) > MAX_LEADS:
        raise EcgFormatError(
            _("The ECG record has %(count)d leads; at most %(max)d are accepted.")
            % {"count": len(names), "max": MAX_LEADS}
        )
    if len(set(names)) != len(names):
        raise EcgFormatError(_("The ECG record names a lead twice."), details={"leads": names})
    lengths = {
        name: int(np.asarray(ch).shape[-1]) for name, ch in zip(names, channels, strict=True)
    }
    if len(set(lengths.values())) != 1:
        raise EcgFormatError(
            _("The leads of the ECG record have different lengths."),
            details={"lengths": lengths},
        )
    samples = np.vstack([np.asarray(ch, dtype=np.float64).reshape(-1) for ch in channels])
    if samples.shape[1] == 0:
        raise EcgFormatError(_("The ECG record holds no samples."))
    bad = ~np.isfinite(samples)
    if bad.any():
        lead = names[int(np.argwhere(bad)[0][0])]
        raise EcgFormatError(
            _("Lead %(lead)s holds samples that are not numbers (NaN or infinite).")
            % {"lead": lead},
            details={"lead": lead},
        )
    duration = samples.shape[1] / rate
    if duration < MIN_DURATION_S:
        raise EcgFormatError(
            _("The ECG record lasts %(duration)s s; at least %(minimum)s s are needed.")
            % {"duration": f"{duration:.2f}", "minimum": f"{MIN_DURATION_S:g}"},
            details={"duration_s": round(duration, 3)},
        )
    samples.setflags(write=False)
    return EcgRecord(
        sampling_rate=rate,
        leads=names,
        samples=samples,
        source_format=source_format,
        meta={str(k): str(v) for k, v in (meta or {}).items() if v not in (None, "")},
    )
