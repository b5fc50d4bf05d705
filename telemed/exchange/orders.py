"""ORM^O01 and OMG^O19 orders into consultation requests, for senders configured for it.

An order (ORC-1 ``NW``) becomes a multidisciplinary consultation request of the sending
institution, made through ``telemed.consultations.services`` as its system user:

- the patient from PID, registered or updated as an ADT message would;
- OBR-4.1 the wanted department (our specialty code, e.g. ``cardiology``), OBR-4.2 the
  question; OBR-13 and NTE segments the clinical summary; DG1-3 the ICD-10 diagnosis;
- priority (ORC-7.6, OBR-27.6 or TQ1-9): ``S`` emergency, ``A`` urgent, else routine;
- a draft, or submitted when the member system is set to submit orders: that setting is
  the hospital's statement that its HIS sends orders only after recording the patient's
  consent to telemedicine, so the request is submitted with the consent confirmed.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from telemed.consultations import services as consultations
from telemed.consultations.states import Urgency
from telemed.core.errors import ValidationFailed
from telemed.exchange import adt, hl7v2
from telemed.exchange.inbound import Processed, Rejected, handles
from telemed.exchange.models import MemberSystem

PRIORITY = {"S": Urgency.EMERGENCY, "STAT": Urgency.EMERGENCY, "A": Urgency.URGENT}


def _priority(message: hl7v2.Message) -> str:
    for key in ("ORC.F7.R1.C6", "OBR.F27.R1.C6", "TQ1.F9.R1.C1"):
        code = hl7v2.value(message, key).upper()
        if code:
            return PRIORITY.get(code, Urgency.ROUTINE)
    return Urgency.ROUTINE


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
    if control != "NW":
        raise ValidationFailed(
            _("Only new orders (ORC-1 NW) are accepted"),
            details={"fields": {"ORC-1": control or _("is required")}},
        )
    patient = adt.register_or_update(system, header, message)
    assert patient.patient_id is not None
    summary = "\n".join(
        part for part in [hl7v2.value(message, "OBR.F13"), *_notes(message)] if part
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
            disease=hl7v2.value(message, "DG1.F3.R1.C1")
            if hl7v2.has_segment(message, "DG1")
            else "",
            consent_confirmed=submit,
        ),
    )
    if submit:
        consultations.submit(system.service_user, draft.pk)
    return Processed(patient_id=patient.patient_id, consultation_id=draft.pk)
