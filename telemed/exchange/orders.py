"""ORM^O01 and OMG^O19 orders into consultation requests, for senders configured for it.

An order (ORC-1 ``NW``, ORC-2 the placer number: an order is taken once) becomes a multidisciplinary consultation request of the sending
institution, made through ``telemed.consultations.services`` as its system user:

- the patient from PID, registered or updated as an ADT message would;
- OBR-4.1 the wanted department (our specialty code, e.g. ``cardiology``), OBR-4.2 the
  question; OBR-13 and NTE segments the clinical summary;
- DG1-3 the diagnosis, OBX the results sent with the order (test, value, unit), RXO-1 the
  medication, each mapped to ICD-10, LOINC (with the value converted to the UCUM unit) and
  the drug list through the institution's code mappings (``codes``), and written into the
  summary; a code without a mapping is queued for an operator and written as sent;
- priority (ORC-7.6, OBR-27.6 or TQ1-9): ``S`` emergency, ``A`` urgent, else routine;
- a draft, or submitted when the member system is set to submit orders: that setting is
  the hospital's statement that its HIS sends orders only after recording the patient's
  consent to telemedicine, so the request is submitted with the consent confirmed.

A cancel (ORC-1 ``CA``, ORC-2 the placer number of an order this sender sent) withdraws
the request, with ORC-16 as the reason; a case already in session or concluded cannot be
withdrawn, which answers AE.
"""

from __future__ import annotations

import contextlib

from django.utils.translation import gettext as _

from telemed.consultations import services as consultations
from telemed.consultations.states import Urgency
from telemed.core.errors import Conflict, NotFound, ValidationFailed
from telemed.directory.models import Disease
from telemed.exchange import adt, codes, hl7v2, queries
from telemed.exchange.inbound import Processed, Rejected, handles
from telemed.exchange.models import CodeKind, InboundMessage, MemberSystem, Outcome

PRIORITY = {"S": Urgency.EMERGENCY, "STAT": Urgency.EMERGENCY, "A": Urgency.URGENT}


def _priority(message: hl7v2.Message) -> str:
    for key in ("ORC.F7.R1.C6", "OBR.F27.R1.C6", "TQ1.F9.R1.C1"):
        code = hl7v2.value(message, key).upper()
        if code:
            return PRIORITY.get(code, Urgency.ROUTINE)
    return Urgency.ROUTINE


def _segments(message: hl7v2.Message, name: str) -> int:
    try:
        return len(message.segments(name))
    except KeyError:
        return 0


def _coded(system: MemberSystem, message: hl7v2.Message, seen_in: str) -> tuple[str, list[str]]:
    """The diagnosis (DG1-3), the results sent with the order (OBX) and the medication
    (RXO-1), mapped to standard codes at the border. Returns the ICD-10 code for the request
    (when mapped and known) and lines for the clinical summary; an unmapped code is queued
    and kept on its line as sent."""
    institution = system.institution
    lines: list[str] = []
    disease = ""

    def coded(segment: str, n: int, field: int) -> tuple[str, str, str]:
        code, name, coding = (
            hl7v2.value(message, f"{segment}{n}.F{field}.R1.C{c}") for c in (1, 2, 3)
        )
        return code, name, coding

    for n in range(1, _segments(message, "DG1") + 1):
        code, name, coding = coded("DG1", n, 3)
        found = codes.translate(
            institution, CodeKind.DIAGNOSIS, code, name, system=coding, seen_in=seen_in
        )
        if found is not None and not disease and Disease.objects.filter(icd10=found.code).exists():
            disease = found.code
        lines.append(_line(_("Diagnosis"), name, code, found, "ICD-10"))
    for n in range(1, _segments(message, "OBX") + 1):
        code, name, coding = coded("OBX", n, 3)
        test = codes.translate(
            institution, CodeKind.TEST, code, name, system=coding, seen_in=seen_in
        )
        value = hl7v2.value(message, f"OBX{n}.F5")
        unit_code, _unit_name, unit_coding = coded("OBX", n, 6)
        unit = codes.translate(
            institution, CodeKind.UNIT, unit_code, system=unit_coding, seen_in=seen_in
        )
        if unit is not None:
            with contextlib.suppress(ValueError):  # a value that is no number is kept as sent
                value = f"{unit.convert(float(value)):g}"
            unit_code = unit.code
        result = _line(_("Result"), name, code, test, "LOINC")
        lines.append(f"{result}: {value} {unit_code}".strip())
    for n in range(1, _segments(message, "RXO") + 1):
        code, name, coding = coded("RXO", n, 1)
        drug = codes.translate(
            institution, CodeKind.DRUG, code, name, system=coding, seen_in=seen_in
        )
        lines.append(_line(_("Medication"), name, code, drug, _("drug list")))
    return disease, lines


def _line(label: str, name: str, code: str, found: codes.Standard | None, standard: str) -> str:
    if found is not None:
        return f"{label}: {found.name or name} [{standard} {found.code}]"
    unmapped = _("local code %(code)s, not yet mapped") % {"code": code}
    return f"{label}: {name} [{unmapped}]"


def _notes(message: hl7v2.Message) -> list[str]:
    notes: list[str] = []
    try:
        segments = message.segments("NTE")
    except KeyError:
        return notes
    for segment in segments:
        text = message.unescape(str(segment(3))) if len(segment) > 3 else ""
        if text.strip():
            notes.append(text.strip())
    return notes


@handles("ORM^O01", "OMG^O19")
def order(system: MemberSystem, header: hl7v2.Header, message: hl7v2.Message) -> Processed:
    if not system.accepts_orders:
        raise Rejected(
            _("This sender is not configured to send orders"), hl7v2.UNSUPPORTED_MESSAGE_TYPE
        )
    if not hl7v2.has_segment(message, "ORC") or not hl7v2.has_segment(message, "OBR"):
        raise ValidationFailed(
            _("An order needs ORC and OBR segments"),
            details={"fields": {"ORC/OBR": _("is required")}},
        )
    control = hl7v2.value(message, "ORC.F1").upper()
    placer = hl7v2.value(message, "ORC.F2.R1.C1") or hl7v2.value(message, "OBR.F2.R1.C1")
    if control == "CA":
        return _cancel(system, message, placer)
    if control != "NW":
        raise ValidationFailed(
            _("Only new orders (ORC-1 NW) and cancels (CA) are accepted"),
            details={"fields": {"ORC-1": control or _("is required")}},
        )
    if placer and _ordered(system, placer) is not None:
        raise Conflict(
            _("Order %(number)s was received already") % {"number": placer},
            details={"fields": {"ORC-2": placer}},
        )
    patient = adt.register_or_update(system, header, message)
    assert patient.patient_id is not None
    seen_in = f"{header.message_type} {header.control_id}"
    disease, coded = _coded(system, message, seen_in)
    summary = "\n".join(
        part for part in [hl7v2.value(message, "OBR.F13"), *_notes(message), *coded] if part
    )
    submit = system.submit_orders
    draft = consultations.create_draft(
        system.service_user,
        patient.patient_id,
        consultations.Request(
            clinical_summary=summary,
            question=hl7v2.value(message, "OBR.F4.R1.C2"),
            urgency=_priority(message),
            wanted_specialty=hl7v2.value(message, "OBR.F4.R1.C1").lower(),
            disease=disease,
            consent_confirmed=submit,
        ),
    )
    if submit:
        consultations.submit(system.service_user, draft.pk)
    return Processed(patient_id=patient.patient_id, consultation_id=draft.pk, placer_number=placer)


def _ordered(system: MemberSystem, placer: str) -> InboundMessage | None:
    """The accepted order this sender sent with this placer number."""
    return (
        queries.message_log(system.service_user)
        .filter(
            member_system=system,
            placer_number=placer,
            outcome=Outcome.ACCEPTED,
            consultation_id__isnull=False,
        )
        .first()
    )


def _cancel(system: MemberSystem, message: hl7v2.Message, placer: str) -> Processed:
    """ORC-1 CA: the HIS withdraws the request it ordered (ORC-16 the reason)."""
    ordered = _ordered(system, placer) if placer else None
    if ordered is None or ordered.consultation_id is None:
        raise NotFound(_("No order %(number)s from this sender") % {"number": placer or "ORC-2"})
    reason = hl7v2.value(message, "ORC.F16.R1.C2") or hl7v2.value(message, "ORC.F16.R1.C1")
    case = consultations.withdraw(
        system.service_user, ordered.consultation_id, reason or _("Order cancelled by the HIS")
    )
    return Processed(patient_id=ordered.patient_id, consultation_id=case.pk)
