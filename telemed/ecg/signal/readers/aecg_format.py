"""HL7 aECG (Annotated ECG, HL7 v3 XML): the rhythm series' sequences, one per lead.

Parsed with defusedxml, which refuses any DTD, entity declaration or external reference
before anything is resolved: an ECG upload must not make the server read a local file or
fetch a URL (XXE), nor expand entities into gigabytes.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import build_record, unit_factor
from telemed.ecg.signal.record import EcgRecord

V3 = "{urn:hl7-org:v3}"
_TIME_CODES = {"TIME_ABSOLUTE", "TIME_RELATIVE"}
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def read_aecg(content: bytes) -> EcgRecord:
    try:
        root = fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise EcgFormatError(
            _("The XML document declares a DTD or entities, which are refused.")
        ) from None
    except (ParseError, ValueError) as exc:
        raise EcgFormatError(
            _("The file is not well-formed XML: %(reason)s") % {"reason": str(exc)[:200]}
        ) from None
    if root.tag != f"{V3}AnnotatedECG":
        raise EcgFormatError(_("The XML document is not an HL7 aECG (AnnotatedECG)."))
    sequence_set = _rhythm_sequence_set(root)
    increment_s: float | None = None
    names: list[str] = []
    channels: list[np.ndarray] = []
    for sequence in sequence_set.iter(f"{V3}sequence"):
        code = _code(sequence)
        value = sequence.find(f"{V3}value")
        if value is None:
            continue
        if code in _TIME_CODES:
            increment_s = _increment(value)
            continue
        names.append(code)
        channels.append(_digits(value, code))
    if increment_s is None:
        raise EcgFormatError(_("The aECG series states no sampling increment."))
    if not names:
        raise EcgFormatError(_("The ECG record has no leads."))
    low = root.find(f"{V3}effectiveTime/{V3}low")
    subject = root.find(f".//{V3}trialSubject/{V3}id")
    meta = {
        "acquired": low.get("value", "") if low is not None else "",
        "patient_id": subject.get("extension", "") if subject is not None else "",
    }
    return build_record(
        sampling_rate=1.0 / increment_s if increment_s > 0 else float("nan"),
        leads=names,
        channels=channels,
        source_format="aecg",
        meta=meta,
    )


def _rhythm_sequence_set(root: Element) -> Element:
    # The first <series> directly under a <component> is the recording; derived series
    # (median beats) sit under <derivation> and are not read.
    for component in root.iter(f"{V3}component"):
        series = component.find(f"{V3}series")
        if series is not None:
            found = series.find(f"{V3}component/{V3}sequenceSet")
            if found is not None:
                return found
    raise EcgFormatError(_("The aECG document holds no waveform series."))


def _code(sequence: Element) -> str:
    code = sequence.find(f"{V3}code")
    return (code.get("code", "") if code is not None else "").strip()


def _increment(value: Element) -> float:
    increment = value.find(f"{V3}increment")
    if increment is None:
        raise EcgFormatError(_("The aECG series states no sampling increment."))
    unit = increment.get("unit", "s")
    if unit not in _SECONDS:
        raise EcgFormatError(
            _("The aECG sampling increment is in %(unit)s, not in seconds.") % {"unit": unit}
        )
    return _number(increment.get("value"), "increment") * _SECONDS[unit]


def _digits(value: Element, lead: str) -> np.ndarray:
    origin = value.find(f"{V3}origin")
    scale = value.find(f"{V3}scale")
    digits = value.find(f"{V3}digits")
    if scale is None or digits is None:
        raise EcgFormatError(
            _("Lead %(lead)s of the aECG has no scale or no digits.") % {"lead": lead}
        )
    unit = scale.get("unit")
    factor = unit_factor(unit, lead=lead)
    offset = 0.0
    if origin is not None:
        offset = _number(origin.get("value", "0"), "origin") * unit_factor(
            origin.get("unit", unit), lead=lead
        )
    try:
        raw = np.array((digits.text or "").split(), dtype=float)
    except ValueError:
        raise EcgFormatError(
            _("Lead %(lead)s of the aECG holds digits that are not numbers.") % {"lead": lead}
        ) from None
    return raw * _number(scale.get("value"), "scale") * factor + offset


def _number(text: str | None, what: str) -> float:
    try:
        return float(text or "")
    except ValueError:
        raise EcgFormatError(
            _("The aECG %(what)s value %(value)s is not a number.")
            % {"what": what, "value": (text or "")[:40]}
        ) from None
