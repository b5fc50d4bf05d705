"""FHIR ``Observation`` with one ``component`` per lead, each a ``valueSampledData``.

R4/R4B (``period`` in ms) is the usual shape; R5's ``interval`` + ``intervalUnit`` is read
too. Lead codes are the MDC (ISO/IEEE 11073-10101) codes used by the FHIR ECG examples,
either ``MDC_ECG_ELEC_POTL_*`` (131329...) or ``MDC_ECG_LEAD_*`` (131073...), else the
coding's display or the code's text when it names a standard lead. Units come from
``origin`` (UCUM ``uV`` or ``mV``); an origin without a unit is refused, since a guess
off by a factor of 1000 would turn noise into ST elevation.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from pydantic import ValidationError

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import build_record, lead_name, unit_factor
from telemed.ecg.signal.record import STANDARD_LEADS, EcgRecord

MDC_SYSTEMS = {"urn:oid:2.16.840.1.113883.6.24", "urn:iso:std:iso:11073:10101"}
# MDC_ECG_LEAD_* codes (partition 2, 131072 + n) and the ELEC_POTL ones (n + 256).
_LEAD_OFFSETS = {
    "I": 1,
    "II": 2,
    "V1": 3,
    "V2": 4,
    "V3": 5,
    "V4": 6,
    "V5": 7,
    "V6": 8,
    "III": 61,
    "aVR": 62,
    "aVL": 63,
    "aVF": 64,
}
MDC_CODES = {str(131072 + n): name for name, n in _LEAD_OFFSETS.items()}
MDC_CODES.update({str(131072 + 256 + n): name for name, n in _LEAD_OFFSETS.items()})
_INTERVAL_UNITS = {"ms": 1e-3, "s": 1.0, "us": 1e-6}
_SPECIAL = {"E", "L", "U"}


def read_fhir(content: bytes) -> EcgRecord:
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EcgFormatError(
            _("The file is not valid JSON: %(reason)s") % {"reason": str(exc)[:200]}
        ) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Observation":
        raise EcgFormatError(_("The JSON document is not a FHIR Observation."))
    r5 = any(
        isinstance(c, dict) and "interval" in (c.get("valueSampledData") or {})
        for c in data.get("component") or []
    )
    try:
        if r5:
            from fhir.resources.observation import Observation as R5Observation

            observation: Any = R5Observation.model_validate(data)
        else:
            from fhir.resources.R4B.observation import Observation as R4BObservation

            observation = R4BObservation.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise EcgFormatError(
            _("The FHIR Observation is not valid: %(where)s %(reason)s")
            % {"where": where[:100], "reason": str(first.get("msg", ""))[:200]}
        ) from None
    names: list[str] = []
    channels: list[np.ndarray] = []
    rates: set[float] = set()
    for index, component in enumerate(observation.component or []):
        sampled = component.valueSampledData
        if sampled is None:
            continue
        name = _lead(component, index)
        rates.add(_rate(sampled, r5, name))
        names.append(name)
        channels.append(_values(sampled, name))
    if not names:
        raise EcgFormatError(_("The FHIR Observation carries no sampled ECG data."))
    if len(rates) != 1:
        raise EcgFormatError(_("The leads of the FHIR Observation have different sampling rates."))
    subject = observation.subject.reference if observation.subject else ""
    meta = {
        "acquired": str(observation.effectiveDateTime or ""),
        "subject": str(subject or ""),
        "device": str(observation.device.display or "") if observation.device else "",
    }
    return build_record(
        sampling_rate=rates.pop(), leads=names, channels=channels, source_format="fhir", meta=meta
    )


def _lead(component: Any, index: int) -> str:
    codings = component.code.coding or []
    for coding in codings:
        if coding.system in MDC_SYSTEMS and str(coding.code) in MDC_CODES:
            return MDC_CODES[str(coding.code)]
    for text in [c.display for c in codings] + [component.code.text]:
        if text and lead_name(str(text)) in STANDARD_LEADS:
            return lead_name(str(text))
    for text in [component.code.text] + [c.display or c.code for c in codings]:
        if text:
            return str(text)[:40]
    return f"channel {index + 1}"


def _rate(sampled: Any, r5: bool, lead: str) -> float:
    if r5:
        unit = str(sampled.intervalUnit or "")
        if unit not in _INTERVAL_UNITS or sampled.interval is None:
            raise EcgFormatError(
                _("Lead %(lead)s states no sampling interval in ms or s.") % {"lead": lead}
            )
        seconds = float(sampled.interval) * _INTERVAL_UNITS[unit]
    else:
        if sampled.period is None:
            raise EcgFormatError(_("Lead %(lead)s states no sampling period.") % {"lead": lead})
        seconds = float(sampled.period) / 1000.0
    if seconds <= 0:
        raise EcgFormatError(_("Lead %(lead)s states a sampling period of zero.") % {"lead": lead})
    return round(1.0 / seconds, 6)


def _values(sampled: Any, lead: str) -> np.ndarray:
    if int(sampled.dimensions or 0) != 1:
        raise EcgFormatError(
            _("Lead %(lead)s has %(n)s dimensions; one lead per component is read.")
            % {"lead": lead, "n": sampled.dimensions}
        )
    origin = sampled.origin
    unit = (origin.code or origin.unit) if origin is not None else None
    if not unit:
        raise EcgFormatError(
            _("Lead %(lead)s states no unit (origin.code such as uV or mV).") % {"lead": lead},
            details={"lead": lead},
        )
    factor = unit_factor(str(unit), lead=lead)
    tokens = str(sampled.data or "").split()
    try:
        raw = np.array([float(t) if t not in _SPECIAL else 0.0 for t in tokens], dtype=float)
    except ValueError:
        raise EcgFormatError(
            _("Lead %(lead)s holds data that are not numbers.") % {"lead": lead}
        ) from None
    scale = float(sampled.factor) if sampled.factor is not None else 1.0
    physical = float(origin.value or 0) + raw * scale
    # "E" is a failed sample; "L"/"U" sit beyond the detection limits, which are stated in
    # the data's physical unit (without a stated limit they read as failed samples too).
    limits = {
        "E": float("nan"),
        "L": _decimal(sampled.lowerLimit),
        "U": _decimal(sampled.upperLimit),
    }
    for token, value in limits.items():
        mask = np.array([t == token for t in tokens], dtype=bool)
        if mask.any():
            physical[mask] = value
    return physical * factor


def _decimal(value: Decimal | None) -> float:
    # "L"/"U" without a stated limit cannot be placed: it reads as a missing sample.
    return float(value) if value is not None else float("nan")
