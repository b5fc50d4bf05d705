"""Round trips: our object -> FHIR JSON -> validated by fhir.resources -> back, fields equal."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from telemed.consultations import fhir, services, signing
from telemed.consultations.models import Consultation
from telemed.consultations.states import State
from telemed.consultations.testing import advance, draft
from telemed.directory.models import Disease
from telemed.testing import register

# Value sets of the codes we send (fhir.resources checks the shape of a code, not its value).
SERVICE_REQUEST_STATUS = {"draft", "active", "on-hold", "revoked", "completed"}
TASK_STATUS = {
    "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
    "in-progress", "on-hold", "failed", "completed", "entered-in-error",
}  # fmt: skip
PRIORITY = {"routine", "urgent", "asap", "stat"}


def through_json(resource, cls):
    """Serialise as the hub would send it, and validate it again on the way in."""
    text = resource.model_dump_json()
    data = json.loads(text)
    assert data["resourceType"] == cls.__name__
    return cls.model_validate_json(text)


def reload(case) -> Consultation:
    return Consultation.objects.unscoped("test").get(pk=case.pk)


def test_service_request_round_trip(team):
    Disease.objects.create(icd10="I20.0", name="不稳定型心绞痛", name_en="Unstable angina")
    patient = register(team.requester, "张秀英", "A-0001").patient
    sent = services.Request(
        kind="multidisciplinary",
        clinical_summary="胸痛三天，心电图异常。\n既往高血压十年。",
        question="是否需要介入治疗？",
        urgency="emergency",
        wanted_specialty="cardiology",
        wanted_expert_id=team.expert.pk,
        wanted_start=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        disease="I20.0",
        consent_confirmed=True,
    )
    case = reload(services.create_draft(team.requester, patient.pk, sent))
    services.submit(team.requester, case.pk)
    case = reload(case)

    resource = through_json(fhir.service_request(case), ServiceRequest)
    assert resource.status in SERVICE_REQUEST_STATUS and resource.status == "active"
    assert resource.priority == "stat"
    assert resource.subject.reference == f"Patient/{patient.mpi_id}"
    assert resource.reasonCode[0].coding[0].system == fhir.ICD10
    back = fhir.request_from_service_request(resource.model_dump_json())
    fields = set(services.Request.__dataclass_fields__) - {"fields_set"}
    assert back.request.fields_set == fields
    for name in fields:
        assert getattr(back.request, name) == getattr(sent, name), name
    assert back.number == case.number
    assert back.patient_mpi_id == str(patient.mpi_id)
    assert back.requester_user_id == team.requester.pk
    assert back.requesting_institution == "COUNTY_A"


def test_service_request_of_a_bare_draft(team):
    case = reload(draft(team))
    services.edit(
        team.requester,
        case.pk,
        services.Request(question="", fields_set={"question"}),
    )
    resource = through_json(fhir.service_request(reload(case)), ServiceRequest)
    assert resource.status == "draft"
    back = fhir.request_from_service_request(json.loads(resource.model_dump_json())).request
    assert "question" not in back.fields_set and "disease" not in back.fields_set
    assert back.clinical_summary == case.clinical_summary


def test_task_round_trip(team):
    case = advance(team, draft(team), "scheduled")
    resource = through_json(fhir.task(case), Task)
    assert resource.owner.identifier.value == str(team.expert.pk)
    assert fhir.task_owner_user_id(resource) == team.expert.pk
    assert resource.focus.identifier.value == case.number
    assert resource.for_fhir.reference == f"Patient/{case.patient.mpi_id}"
    for state in State:
        case.state = state.value
        task = through_json(fhir.task(case), Task)
        assert task.status in TASK_STATUS
        assert task.businessStatus.coding[0].code == state.value
        assert fhir.state_from_task(task.model_dump_json()) == state.value
        # A partner that keeps only Task.status still lands on a state of the same step.
        plain = json.loads(task.model_dump_json())
        del plain["businessStatus"]
        assert fhir.TASK_STATUS[fhir.state_from_task(plain)] == task.status
    with pytest.raises(ValueError):
        fhir.state_from_task({**plain, "status": "no-such-status"})


def test_appointment_round_trip(team):
    case = advance(team, draft(team), "scheduled")
    resource = through_json(fhir.appointment(case), Appointment)
    assert resource.status == "booked"
    assert {p.actor.type for p in resource.participant} == {None, "Location"}
    assert case.scheduled_start is not None and case.scheduled_end is not None
    booking = fhir.booking_from_appointment(resource.model_dump_json())
    assert booking == fhir.Booking(
        number=case.number,
        start=case.scheduled_start,
        end=case.scheduled_end,
        expert_user_id=team.expert.pk,
        room=f"PROV/{team.room.code}",
    )
    unscheduled = advance(team, draft(team, patient_name="王建国", record="A-0002"), "assigned")
    with pytest.raises(ValueError):
        fhir.appointment(unscheduled)


def test_diagnostic_report_round_trip(team):
    case = advance(team, draft(team), "concluded")
    first = case.conclusions.get()
    amended = services.amend(
        team.expert,
        case.pk,
        signing.ConclusionDraft(
            findings="窦性心律，ST段压低，肌钙蛋白升高。",
            diagnosis="急性非ST段抬高型心肌梗死",
            icd10_codes=("I21.4", "I10"),
            recommendations="立即转上级医院。",
            amendment_reason="补充肌钙蛋白结果",
        ),
    )
    for conclusion, status in ((first, "final"), (amended, "amended")):
        resource = through_json(fhir.diagnostic_report(conclusion), DiagnosticReport)
        assert resource.status == status
        assert resource.code.coding[0].code == "11488-4"
        back = fhir.conclusion_from_diagnostic_report(resource.model_dump_json())
        assert back == fhir.ConclusionData(
            number=case.number,
            version=conclusion.version,
            findings=conclusion.findings,
            diagnosis=conclusion.diagnosis,
            icd10_codes=list(conclusion.icd10_codes),
            recommendations=conclusion.recommendations,
            amendment_reason=conclusion.amendment_reason,
            signed_at=conclusion.signed_at,
            signer_user_id=team.expert.pk,
            text_sha256=conclusion.text_sha256,
            amended=status == "amended",
        )


def test_document_reference_round_trip(team):
    case = advance(team, draft(team), "concluded")
    first = case.conclusions.get()
    second = services.amend(
        team.expert,
        case.pk,
        signing.ConclusionDraft(
            findings=first.findings,
            diagnosis=first.diagnosis,
            icd10_codes=tuple(first.icd10_codes),
            recommendations="冠脉造影。",
            amendment_reason="更正建议",
        ),
    )
    first.refresh_from_db()
    old = through_json(fhir.document_reference(first), DocumentReference)
    assert old.status == "superseded" and old.docStatus == "final"
    resource = through_json(
        fhir.document_reference(
            second, pdf_url=f"/consultations/{case.pk}/conclusion.pdf?version=2"
        ),
        DocumentReference,
    )
    assert resource.status == "current" and resource.docStatus == "amended"
    assert resource.relatesTo[0].code == "replaces"
    assert resource.content[1].attachment.contentType == "application/pdf"
    data = json.loads(resource.model_dump_json())
    attachment = data["content"][0]["attachment"]
    raw = second.signed_text.encode()
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(raw).digest()).decode()
    back = fhir.signed_text_from_document_reference(data)
    assert back.text == second.signed_text
    assert back.text_sha256 == second.text_sha256 == signing.digest(back.text)
    assert back.identifier == f"{case.number}-v2"
    # A text changed on the way fails its hashes.
    tampered = json.loads(json.dumps(data))
    tampered["content"][0]["attachment"]["data"] = base64.b64encode(
        second.signed_text.replace("冠脉造影", "保守治疗").encode()
    ).decode()
    with pytest.raises(ValueError):
        fhir.signed_text_from_document_reference(tampered)
    del tampered["content"][0]["attachment"]["hash"]
    with pytest.raises(ValueError):
        fhir.signed_text_from_document_reference(tampered)


def test_communication_round_trip(team):
    case = advance(team, draft(team), "assigned")
    message = services.post_message(team.expert, case.pk, "请补充肌钙蛋白结果。\n谢谢。")
    resource = through_json(fhir.communication(message), Communication)
    assert resource.status == "completed"
    back = fhir.message_from_communication(resource.model_dump_json())
    assert back == fhir.MessageData(
        number=case.number, body=message.body, author_user_id=team.expert.pk, at=message.at
    )
