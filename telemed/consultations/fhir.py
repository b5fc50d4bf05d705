"""The consultation in FHIR R4, for the exchange hub: pure functions, no HTTP.

=====================  ==========================================================
ours                   FHIR
=====================  ==========================================================
the request            ``ServiceRequest`` (patient, requester, ICD-10 reason,
                       priority, summary and question as notes, kind as category,
                       wanted department as performerType, wanted expert as
                       performer, wanted time as occurrenceDateTime)
the workflow           ``Task`` (status, businessStatus = our exact state, owner =
                       the assigned expert, focus = the ServiceRequest)
the schedule           ``Appointment`` (start/end, the expert and the room)
a signed conclusion    ``DiagnosticReport`` (final / amended, ICD-10 conclusionCode)
                       + ``DocumentReference`` of the signed text
a message              ``Communication``
=====================  ==========================================================

fhir.resources 8 ships R5 as its default and R4B (4.3) beside it, with no R4 (4.0.1)
package. These six resources have the same shape in R4 and R4B, so the R4B classes validate
what an R4 partner sends and receives.

Each builder returns a validated fhir.resources object (``.model_dump_json()`` gives the
JSON); each reader takes such an object, a dict or a JSON string and gives back our fields.
References to our own records carry identifiers in the ``urn:telemed:`` namespace, so the
reverse direction does not depend on the hub's resource ids. Organizations are referenced by
identifier only (our institution codes contain ``_``, which a FHIR id may not).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from telemed.consultations.services import Request
from telemed.consultations.signing import digest
from telemed.consultations.states import Kind, State, Urgency

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation, Message
    from telemed.directory.models import ConsultationRoom, Institution

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CONSULT_NOTE = {"system": LOINC, "code": "11488-4", "display": "Consult note"}

NUMBER = "urn:telemed:consultation-number"
CONCLUSION_ID = "urn:telemed:conclusion"
SHA256 = "urn:telemed:sha256"
MESSAGE_ID = "urn:telemed:message"
PATIENT_ID = "urn:telemed:mpi"
USER_ID = "urn:telemed:user"
INSTITUTION_ID = "urn:telemed:institution"
SPECIALTY = "urn:telemed:specialty"
KIND = "urn:telemed:consultation-kind"
STATE = "urn:telemed:consultation-state"
ROOM_ID = "urn:telemed:room"
EXT_NOTE_KIND = "urn:telemed:fhir:note-kind"
EXT_CONSENT = "urn:telemed:fhir:telemedicine-consent"
EXT_FINDINGS = "urn:telemed:fhir:findings"
EXT_RECOMMENDATIONS = "urn:telemed:fhir:recommendations"
EXT_AMENDMENT_REASON = "urn:telemed:fhir:amendment-reason"
EXT_VERSION = "urn:telemed:fhir:conclusion-version"

# The kind of case as an SNOMED CT procedure, beside our own code.
KIND_SNOMED: dict[str, tuple[str, str]] = {
    Kind.MULTIDISCIPLINARY: ("11429006", "Consultation"),
    Kind.IMAGING: ("363679005", "Imaging"),
    Kind.PATHOLOGY: ("108257001", "Anatomic pathology procedure"),
    Kind.ECG: ("29303009", "Electrocardiographic procedure"),
}
PRIORITY: dict[str, str] = {
    Urgency.ROUTINE: "routine",
    Urgency.URGENT: "urgent",
    Urgency.EMERGENCY: "stat",
}
URGENCY_FROM_PRIORITY: dict[str, str] = {
    "routine": Urgency.ROUTINE,
    "urgent": Urgency.URGENT,
    "asap": Urgency.URGENT,
    "stat": Urgency.EMERGENCY,
}

# ServiceRequest.status: is the request still wanted?
REQUEST_STATUS: dict[str, str] = {
    State.DRAFT: "draft",
    State.CONCLUDED: "completed",
    State.CLOSED: "completed",
    State.WITHDRAWN: "revoked",
    State.CANCELLED: "revoked",
}
# Task.status per state (the state itself travels in businessStatus).
TASK_STATUS: dict[str, str] = {
    State.DRAFT: "draft",
    State.SUBMITTED: "requested",
    State.RETURNED: "on-hold",
    State.ACCEPTED: "received",
    State.ASSIGNED: "accepted",
    State.SCHEDULED: "ready",
    State.IN_SESSION: "in-progress",
    State.CONCLUDED: "completed",
    State.CLOSED: "completed",
    State.WITHDRAWN: "cancelled",
    State.DECLINED: "rejected",
    State.CANCELLED: "cancelled",
}
# Task.status back to a state when no businessStatus of ours came with it.
STATE_FROM_TASK_STATUS: dict[str, str] = {
    "draft": State.DRAFT,
    "requested": State.SUBMITTED,
    "received": State.ACCEPTED,
    "accepted": State.ASSIGNED,
    "ready": State.SCHEDULED,
    "in-progress": State.IN_SESSION,
    "on-hold": State.RETURNED,
    "completed": State.CONCLUDED,
    "rejected": State.DECLINED,
    "cancelled": State.CANCELLED,
    "failed": State.CANCELLED,
    "entered-in-error": State.CANCELLED,
}
APPOINTMENT_STATUS: dict[str, str] = {
    State.SCHEDULED: "booked",
    State.IN_SESSION: "arrived",
    State.CONCLUDED: "fulfilled",
    State.CLOSED: "fulfilled",
    State.WITHDRAWN: "cancelled",
    State.CANCELLED: "cancelled",
}

R = TypeVar("R", bound=Resource)


# -- helpers -----------------------------------------------------------------------------


def _load(cls: type[R], resource: R | dict[str, Any] | str | bytes) -> R:
    if isinstance(resource, cls):
        return resource
    if isinstance(resource, str | bytes):
        return cls.model_validate_json(resource)
    if isinstance(resource, dict):
        return cls.model_validate(resource)
    raise TypeError(f"expected a {cls.__name__}, got {type(resource).__name__}")


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _identifier(system: str, value: object) -> dict[str, Any]:
    return {"system": system, "value": str(value)}


def patient_reference(consultation: Consultation) -> dict[str, Any]:
    patient = consultation.patient
    return {
        "reference": f"Patient/{patient.mpi_id}",
        "identifier": _identifier(PATIENT_ID, patient.mpi_id),
        "display": patient.name,
    }


def user_reference(user: User) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "identifier": _identifier(USER_ID, user.pk),
        "display": user.get_full_name() or user.get_username(),
    }
    if user.practitioner_id:
        reference["reference"] = f"Practitioner/{user.practitioner_id}"
    return reference


def _without_reference(user: User) -> dict[str, Any]:
    reference = user_reference(user)
    reference.pop("reference", None)
    return reference


def organization_reference(institution: Institution) -> dict[str, Any]:
    return {
        "type": "Organization",
        "identifier": _identifier(INSTITUTION_ID, institution.code),
        "display": institution.name,
    }


def room_reference(room: ConsultationRoom) -> dict[str, Any]:
    return {
        "type": "Location",
        "identifier": _identifier(ROOM_ID, f"{room.institution.code}/{room.code}"),
        "display": str(room),
    }


def request_reference(consultation: Consultation) -> dict[str, Any]:
    return {
        "reference": f"ServiceRequest/{consultation.number}",
        "identifier": _identifier(NUMBER, consultation.number),
    }


def _identified(reference: Any, system: str) -> str | None:
    """The value of a Reference's identifier in ``system``."""
    if reference is None or reference.identifier is None:
        return None
    if reference.identifier.system != system:
        return None
    return str(reference.identifier.value)


def _user_id(reference: Any) -> int | None:
    value = _identified(reference, USER_ID)
    return int(value) if value is not None else None


def _code_in(concepts: Any, system: str) -> str | None:
    for concept in concepts or ():
        for coding in concept.coding or ():
            if coding.system == system:
                return str(coding.code)
    return None


def _extension(element: Any, url: str) -> Any:
    for extension in element.extension or ():
        if extension.url == url:
            return extension
    return None


def _number(identifiers: Any) -> str | None:
    for identifier in identifiers or ():
        if identifier.system == NUMBER:
            return str(identifier.value)
    return None


# -- the request -------------------------------------------------------------------------


def service_request(consultation: Consultation) -> ServiceRequest:
    c = consultation
    code, display = KIND_SNOMED.get(c.kind, ("", ""))
    category = [_coding(KIND, c.kind, c.get_kind_display())]
    if code:
        category.append(_coding(SNOMED, code, display))
    notes = [
        {"text": text, "extension": [{"url": EXT_NOTE_KIND, "valueCode": kind}]}
        for kind, text in (("clinical-summary", c.clinical_summary), ("question", c.question))
        if text
    ]
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": c.number,
        "identifier": [_identifier(NUMBER, c.number)],
        "status": REQUEST_STATUS.get(c.state, "active"),
        "intent": "order",
        "category": [{"coding": category}],
        "priority": PRIORITY[c.urgency],
        "code": {"coding": [CONSULT_NOTE], "text": c.get_kind_display()},
        "subject": patient_reference(c),
        "authoredOn": (c.submitted_at or c.created_at).isoformat(),
        # The requesting doctor at the requesting institution: a contained PractitionerRole.
        "contained": [
            {
                "resourceType": "PractitionerRole",
                "id": "requester",
                "practitioner": user_reference(c.requested_by),
                "organization": organization_reference(c.requesting_institution),
            }
        ],
        "requester": {"reference": "#requester", **_without_reference(c.requested_by)},
        "extension": [{"url": EXT_CONSENT, "valueBoolean": bool(c.consent_confirmed)}],
    }
    if notes:
        data["note"] = notes
    if c.disease is not None:
        data["reasonCode"] = [
            {"coding": [_coding(ICD10, c.disease.icd10, c.disease.name)], "text": c.disease.name}
        ]
    if c.wanted_specialty is not None:
        data["performerType"] = {
            "coding": [_coding(SPECIALTY, c.wanted_specialty.code, c.wanted_specialty.name)]
        }
    if c.wanted_expert is not None:
        data["performer"] = [user_reference(c.wanted_expert)]
    if c.wanted_start is not None:
        data["occurrenceDateTime"] = c.wanted_start.isoformat()
    return ServiceRequest.model_validate(data)


@dataclass
class IncomingRequest:
    """What a ServiceRequest from the hub says, in our terms."""

    request: Request
    number: str | None = None
    patient_mpi_id: str | None = None
    requester_user_id: int | None = None
    requesting_institution: str | None = None  # institution code


def request_from_service_request(
    resource: ServiceRequest | dict[str, Any] | str | bytes,
) -> IncomingRequest:
    sr = _load(ServiceRequest, resource)
    request = Request()
    fields: set[str] = set()
    kind = _code_in(sr.category, KIND)
    if kind is None:
        snomed = _code_in(sr.category, SNOMED)
        kind = next((k for k, (code, _d) in KIND_SNOMED.items() if code == snomed), None)
    if kind is not None:
        request.kind = str(kind)
        fields.add("kind")
    if sr.priority is not None:
        request.urgency = URGENCY_FROM_PRIORITY.get(str(sr.priority), Urgency.ROUTINE)
        fields.add("urgency")
    for note in sr.note or ():
        marker = _extension(note, EXT_NOTE_KIND)
        name = {"clinical-summary": "clinical_summary", "question": "question"}.get(
            str(marker.valueCode) if marker is not None else "clinical-summary"
        )
        if name is not None:
            previous = getattr(request, name) if name in fields else ""
            setattr(request, name, f"{previous}\n\n{note.text}" if previous else str(note.text))
            fields.add(name)
    disease = _code_in(sr.reasonCode, ICD10)
    if disease is not None:
        request.disease = disease
        fields.add("disease")
    specialty = _code_in([sr.performerType] if sr.performerType else [], SPECIALTY)
    if specialty is not None:
        request.wanted_specialty = specialty
        fields.add("wanted_specialty")
    for performer in sr.performer or ():
        expert = _user_id(performer)
        if expert is not None:
            request.wanted_expert_id = expert
            fields.add("wanted_expert_id")
            break
    if sr.occurrenceDateTime is not None:
        request.wanted_start = _aware(sr.occurrenceDateTime)
        fields.add("wanted_start")
    consent = _extension(sr, EXT_CONSENT)
    if consent is not None and consent.valueBoolean is not None:
        request.consent_confirmed = bool(consent.valueBoolean)
        fields.add("consent_confirmed")
    request.fields_set = fields
    institution = None
    for contained in sr.contained or ():
        organization = getattr(contained, "organization", None)
        if contained.get_resource_type() == "PractitionerRole" and organization is not None:
            institution = institution or _identified(organization, INSTITUTION_ID)
    return IncomingRequest(
        request=request,
        number=_number(sr.identifier),
        patient_mpi_id=_identified(sr.subject, PATIENT_ID),
        requester_user_id=_user_id(sr.requester),
        requesting_institution=institution,
    )


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    else:
        moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("a FHIR dateTime with a time needs a timezone")
    return moment


# -- the workflow ------------------------------------------------------------------------


def task(consultation: Consultation) -> Task:
    c = consultation
    state = State(c.state)
    data: dict[str, Any] = {
        "resourceType": "Task",
        "id": c.number,
        "identifier": [_identifier(NUMBER, c.number)],
        "status": TASK_STATUS[state],
        "businessStatus": {"coding": [_coding(STATE, state.value, str(state.label))]},
        "intent": "order",
        "priority": PRIORITY[c.urgency],
        "focus": request_reference(c),
        "basedOn": [request_reference(c)],
        "for": patient_reference(c),
        "authoredOn": c.created_at.isoformat(),
        "lastModified": c.updated_at.isoformat(),
        "requester": user_reference(c.requested_by),
    }
    if c.assigned_expert is not None:
        data["owner"] = user_reference(c.assigned_expert)
    if c.scheduled_start is not None and c.scheduled_end is not None:
        data["executionPeriod"] = {
            "start": c.scheduled_start.isoformat(),
            "end": c.scheduled_end.isoformat(),
        }
    return Task.model_validate(data)


def state_from_task(resource: Task | dict[str, Any] | str | bytes) -> str:
    """Our state: the businessStatus when it is ours, else the nearest for Task.status."""
    t = _load(Task, resource)
    ours = _code_in([t.businessStatus] if t.businessStatus else [], STATE)
    if ours in State.values:
        return str(ours)
    status = str(t.status)
    if status not in STATE_FROM_TASK_STATUS:
        raise ValueError(f"unknown Task.status {status!r}")
    return str(STATE_FROM_TASK_STATUS[status])


def task_owner_user_id(resource: Task | dict[str, Any] | str | bytes) -> int | None:
    return _user_id(_load(Task, resource).owner)


# -- the schedule ------------------------------------------------------------------------


def appointment(consultation: Consultation) -> Appointment:
    """The booked session; ValueError for a case that is not scheduled."""
    c = consultation
    if c.scheduled_start is None or c.scheduled_end is None or c.assigned_expert is None:
        raise ValueError(f"consultation {c.number} is not scheduled")
    participants: list[dict[str, Any]] = [
        {
            "actor": user_reference(c.assigned_expert),
            "required": "required",
            "status": "accepted",
        }
    ]
    if c.room is not None:
        participants.append(
            {"actor": room_reference(c.room), "required": "required", "status": "accepted"}
        )
    data = {
        "resourceType": "Appointment",
        "id": c.number,
        "identifier": [_identifier(NUMBER, c.number)],
        "status": APPOINTMENT_STATUS.get(c.state, "booked"),
        "description": c.number,
        "start": c.scheduled_start.isoformat(),
        "end": c.scheduled_end.isoformat(),
        "basedOn": [request_reference(c)],
        "participant": participants,
    }
    return Appointment.model_validate(data)


@dataclass
class Booking:
    number: str | None
    start: dt.datetime
    end: dt.datetime
    expert_user_id: int | None
    room: str | None  # "<institution code>/<room code>"


def booking_from_appointment(resource: Appointment | dict[str, Any] | str | bytes) -> Booking:
    a = _load(Appointment, resource)
    if a.start is None or a.end is None:
        raise ValueError("the appointment has no start and end")
    expert = room = None
    for participant in a.participant or ():
        expert = expert or _user_id(participant.actor)
        room = room or _identified(participant.actor, ROOM_ID)
    return Booking(
        number=_number(a.identifier),
        start=_aware(a.start),
        end=_aware(a.end),
        expert_user_id=expert,
        room=room,
    )


# -- the conclusion ----------------------------------------------------------------------


def _conclusion_id(conclusion: Conclusion) -> str:
    return f"{conclusion.consultation.number}-v{conclusion.version}"


def diagnostic_report(conclusion: Conclusion) -> DiagnosticReport:
    c = conclusion.consultation
    signer = conclusion.signed_by
    performers = [user_reference(signer)]
    if signer.institution is not None:
        performers.append(organization_reference(signer.institution))
    extensions = [
        {"url": EXT_VERSION, "valueInteger": conclusion.version},
        {"url": EXT_FINDINGS, "valueString": conclusion.findings},
        {"url": EXT_RECOMMENDATIONS, "valueString": conclusion.recommendations},
    ]
    if conclusion.amendment_reason:
        extensions.append({"url": EXT_AMENDMENT_REASON, "valueString": conclusion.amendment_reason})
    data = {
        "resourceType": "DiagnosticReport",
        "id": _conclusion_id(conclusion),
        "identifier": [
            _identifier(CONCLUSION_ID, _conclusion_id(conclusion)),
            _identifier(SHA256, conclusion.text_sha256),
        ],
        "extension": extensions,
        "basedOn": [request_reference(c)],
        "status": "amended" if conclusion.supersedes_id is not None else "final",
        "code": {"coding": [CONSULT_NOTE]},
        "subject": patient_reference(c),
        "effectiveDateTime": conclusion.signed_at.isoformat(),
        "issued": conclusion.signed_at.isoformat(),
        "performer": performers,
        "resultsInterpreter": [user_reference(signer)],
        "conclusion": conclusion.diagnosis,
        "conclusionCode": [{"coding": [_coding(ICD10, code)]} for code in conclusion.icd10_codes],
        "presentedForm": [_signed_text_attachment(conclusion)],
    }
    return DiagnosticReport.model_validate(data)


@dataclass
class ConclusionData:
    number: str | None
    version: int
    findings: str
    diagnosis: str
    icd10_codes: list[str]
    recommendations: str
    amendment_reason: str
    signed_at: dt.datetime
    signer_user_id: int | None
    text_sha256: str | None
    amended: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def conclusion_from_diagnostic_report(
    resource: DiagnosticReport | dict[str, Any] | str | bytes,
) -> ConclusionData:
    r = _load(DiagnosticReport, resource)

    def text(url: str) -> str:
        extension = _extension(r, url)
        return str(extension.valueString) if extension is not None else ""

    version = _extension(r, EXT_VERSION)
    sha = next((str(i.value) for i in r.identifier or () if i.system == SHA256), None)
    number = None
    for reference in r.basedOn or ():
        number = number or _identified(reference, NUMBER)
    issued = r.issued or r.effectiveDateTime
    if issued is None:
        raise ValueError("the report has no issued time")
    return ConclusionData(
        number=number,
        version=int(version.valueInteger) if version is not None else 1,
        findings=text(EXT_FINDINGS),
        diagnosis=str(r.conclusion or ""),
        icd10_codes=[
            str(coding.code)
            for concept in r.conclusionCode or ()
            for coding in concept.coding or ()
            if coding.system == ICD10
        ],
        recommendations=text(EXT_RECOMMENDATIONS),
        amendment_reason=text(EXT_AMENDMENT_REASON),
        signed_at=_aware(issued),
        signer_user_id=next((u for u in map(_user_id, r.performer or ()) if u is not None), None),
        text_sha256=sha,
        amended=str(r.status) == "amended",
    )


def _signed_text_attachment(conclusion: Conclusion) -> dict[str, Any]:
    """The signed text, base64, with FHIR's SHA-1 hash (base64) of those bytes."""
    raw = conclusion.signed_text.encode("utf-8")
    return {
        "contentType": "text/plain; charset=utf-8",
        "language": "zh-CN",
        "data": base64.b64encode(raw).decode("ascii"),
        "size": len(raw),
        "hash": base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii"),  # noqa: S324 - FHIR's Attachment.hash is SHA-1
        "title": f"{conclusion.consultation.number} v{conclusion.version}",
        "creation": conclusion.signed_at.isoformat(),
    }


def document_reference(conclusion: Conclusion, *, pdf_url: str = "") -> DocumentReference:
    """The signed text as a document. Our SHA-256 (the signature) is an identifier; FHIR's
    own Attachment.hash is the SHA-1 of the same bytes. ``pdf_url`` adds the printable PDF
    as a second content."""
    c = conclusion.consultation
    signer = conclusion.signed_by
    content = [{"attachment": _signed_text_attachment(conclusion)}]
    if pdf_url:
        content.append(
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": pdf_url,
                    "title": f"{c.number} v{conclusion.version}.pdf",
                }
            }
        )
    superseded = _is_superseded(conclusion)
    data: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": _conclusion_id(conclusion),
        "masterIdentifier": _identifier(CONCLUSION_ID, _conclusion_id(conclusion)),
        "identifier": [_identifier(SHA256, conclusion.text_sha256)],
        "status": "superseded" if superseded else "current",
        "docStatus": "amended" if conclusion.supersedes_id is not None else "final",
        "type": {"coding": [CONSULT_NOTE]},
        "subject": patient_reference(c),
        "date": conclusion.signed_at.isoformat(),
        "author": [user_reference(signer)],
        "authenticator": user_reference(signer),
        "description": f"{c.number} v{conclusion.version}",
        "content": content,
        "context": {"related": [request_reference(c)]},
    }
    if signer.institution is not None:
        data["custodian"] = organization_reference(signer.institution)
    if conclusion.supersedes is not None:
        data["relatesTo"] = [
            {
                "code": "replaces",
                "target": {
                    "reference": f"DocumentReference/{_conclusion_id(conclusion.supersedes)}",
                    "identifier": _identifier(CONCLUSION_ID, _conclusion_id(conclusion.supersedes)),
                },
            }
        ]
    return DocumentReference.model_validate(data)


def _is_superseded(conclusion: Conclusion) -> bool:
    # The reverse one-to-one raises (an AttributeError) when no later version exists.
    return hasattr(conclusion, "superseded_by")


@dataclass
class SignedDocument:
    text: str
    text_sha256: str
    identifier: str | None


def signed_text_from_document_reference(
    resource: DocumentReference | dict[str, Any] | str | bytes,
) -> SignedDocument:
    """The signed text; ValueError when the bytes do not match the SHA-1 FHIR hash or our
    SHA-256."""
    d = _load(DocumentReference, resource)
    attachment = next(
        (
            item.attachment
            for item in d.content or ()
            if item.attachment is not None and item.attachment.data is not None
        ),
        None,
    )
    if attachment is None:
        raise ValueError("the document carries no inline text")
    raw = attachment.data
    raw = raw if isinstance(raw, bytes) else base64.b64decode(str(raw))
    if attachment.hash is not None:
        expected = attachment.hash
        expected = expected if isinstance(expected, bytes) else base64.b64decode(str(expected))
        if hashlib.sha1(raw).digest() != expected:  # noqa: S324 - FHIR's Attachment.hash
            raise ValueError("the text does not match its SHA-1 hash")
    text = raw.decode("utf-8")
    sha = next((str(i.value) for i in d.identifier or () if i.system == SHA256), None)
    if sha is not None and digest(text) != sha:
        raise ValueError("the text does not match its SHA-256 signature")
    return SignedDocument(
        text=text,
        text_sha256=sha or digest(text),
        identifier=str(d.masterIdentifier.value) if d.masterIdentifier else None,
    )


# -- messages ----------------------------------------------------------------------------


def communication(message: Message) -> Communication:
    c = message.consultation
    data = {
        "resourceType": "Communication",
        "id": f"{c.number}-m{message.pk}",
        "identifier": [_identifier(MESSAGE_ID, message.pk)],
        "basedOn": [request_reference(c)],
        "status": "completed",
        "subject": patient_reference(c),
        "sent": message.at.isoformat(),
        "sender": user_reference(message.author),
        "payload": [{"contentString": message.body}],
    }
    return Communication.model_validate(data)


@dataclass
class MessageData:
    number: str | None
    body: str
    author_user_id: int | None
    at: dt.datetime | None


def message_from_communication(
    resource: Communication | dict[str, Any] | str | bytes,
) -> MessageData:
    m = _load(Communication, resource)
    body = "\n\n".join(
        str(part.contentString) for part in m.payload or () if part.contentString is not None
    )
    number = None
    for reference in m.basedOn or ():
        number = number or _identified(reference, NUMBER)
    return MessageData(
        number=number,
        body=body,
        author_user_id=_user_id(m.sender),
        at=_aware(m.sent) if m.sent is not None else None,
    )


def to_json(resource: Resource) -> dict[str, Any]:
    """The resource as JSON-ready data (what the hub will send)."""
    return dict(json.loads(resource.model_dump_json()))
