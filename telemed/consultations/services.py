"""Every action on a consultation. Transitions go through ``workflow.perform``; creation,
messages and feedback are recorded here with the same history and audit."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import scheduling, signing
from telemed.consultations.models import (
    Conclusion,
    Consultation,
    ConsultationEvent,
    Feedback,
    Message,
    QualityCheck,
)
from telemed.consultations.policies import policy_for, registered_kinds
from telemed.consultations.states import State, Urgency
from telemed.consultations.workflow import access, perform, publish_change, record_on_case
from telemed.core import clock
from telemed.core.errors import PermissionDenied, ValidationFailed
from telemed.directory.models import (
    ConsultationRoom,
    Department,
    Disease,
    Institution,
    Specialty,
    Tier,
)
from telemed.patients import queries as patient_queries
from telemed.patients import services as patient_services
from telemed.patients.models import ConsentKind

if TYPE_CHECKING:
    from telemed.patients.models import Patient

REQUESTING_ROLES = frozenset({Role.REQUESTING_DOCTOR, Role.SYSTEM})
EXPERT_TIERS = frozenset({Tier.PROVINCE_CENTRE, Tier.CITY_SUBCENTRE, Tier.EXTERNAL_PARTNER})


@dataclass
class Request:
    """What a requester fills in; every field may be left empty in a draft."""

    kind: str = "multidisciplinary"
    clinical_summary: str = ""
    question: str = ""
    urgency: str = Urgency.ROUTINE
    wanted_specialty: str = ""  # specialty code
    wanted_expert_id: int | None = None
    wanted_start: dt.datetime | None = None
    disease: str = ""  # ICD-10 code
    consent_confirmed: bool = False
    fields_set: set[str] = field(default_factory=set)


def _apply(consultation: Consultation, data: Request, fields: set[str]) -> None:
    errors: dict[str, str] = {}
    if "kind" in fields:
        if data.kind not in registered_kinds():
            errors["kind"] = gettext("unknown kind")
        else:
            consultation.kind = data.kind
    if "urgency" in fields:
        if data.urgency not in Urgency.values:
            errors["urgency"] = gettext("must be routine, urgent or emergency")
        else:
            consultation.urgency = data.urgency
    for name in ("clinical_summary", "question"):
        if name in fields:
            setattr(consultation, name, getattr(data, name).strip())
    if "wanted_specialty" in fields:
        specialty = (
            Specialty.objects.filter(code=data.wanted_specialty).first()
            if data.wanted_specialty
            else None
        )
        if data.wanted_specialty and specialty is None:
            errors["wanted_specialty"] = gettext("unknown department")
        consultation.wanted_specialty = specialty
    if "disease" in fields:
        disease = (
            Disease.objects.filter(icd10=data.disease.strip().upper()).first()
            if data.disease
            else None
        )
        if data.disease and disease is None:
            errors["disease"] = gettext("unknown ICD-10 code")
        consultation.disease = disease
    if "wanted_expert_id" in fields:
        expert = None
        if data.wanted_expert_id is not None:
            expert = User.objects.filter(
                pk=data.wanted_expert_id, role=Role.EXPERT, is_active=True
            ).first()
            if expert is None:
                errors["wanted_expert_id"] = gettext("no such expert")
        consultation.wanted_expert = expert
    if "wanted_start" in fields:
        consultation.wanted_start = data.wanted_start
    if "consent_confirmed" in fields:
        consultation.consent_confirmed = bool(data.consent_confirmed)
    if errors:
        raise ValidationFailed(
            gettext("The consultation request is not valid"), details={"fields": errors}
        )


def create_draft(actor: User, patient_id: int, data: Request) -> Consultation:
    """A new request for a patient of the actor's institution, saved as a draft."""
    if actor.role not in REQUESTING_ROLES or actor.institution is None:
        audit.denied(
            actor,
            Action.CREATE,
            object_type="consultation",
            reason="role cannot request consultations",
        )
        raise PermissionDenied(gettext("Only requesting doctors can request consultations"))
    patient = patient_queries.get_patient(actor, patient_id, audit_read=False)
    with transaction.atomic():
        consultation = Consultation(
            number=f"tmp-{uuid.uuid4().hex[:16]}",
            patient=patient,
            requesting_institution=actor.institution,
            requested_by=actor,
        )
        _apply(
            consultation,
            data,
            data.fields_set or set(Request.__dataclass_fields__) - {"fields_set"},
        )
        consultation.save()
        # The number is dated and follows the row's id, so two requesters cannot collide.
        consultation.number = f"HZ{clock.now():%Y%m%d}-{consultation.pk:05d}"
        consultation.save(update_fields=["number"])
        ConsultationEvent.objects.create(
            consultation=consultation, actor=actor, action="create", to_state=State.DRAFT
        )
        audit.record(
            actor,
            Action.CREATE,
            object_type="consultation",
            object_id=consultation.pk,
            patient_id=patient.pk,
            detail={"number": consultation.number},
        )
    return consultation


def edit(actor: User, consultation_id: int, data: Request) -> Consultation:
    fields = data.fields_set or set(Request.__dataclass_fields__) - {"fields_set"}

    def apply(consultation: Consultation) -> dict[str, Any]:
        _apply(consultation, data, fields)
        return {"fields": sorted(fields)}

    return perform(actor, consultation_id, "edit", change=apply)


def submit(actor: User, consultation_id: int) -> Consultation:
    def check(consultation: Consultation) -> dict[str, Any]:
        errors = {}
        if not consultation.clinical_summary:
            errors["clinical_summary"] = gettext("is required")
        if not consultation.question:
            errors["question"] = gettext("is required")
        if not consultation.wanted_specialty_id:
            errors["wanted_specialty"] = gettext("is required")
        if not consultation.consent_confirmed:
            errors["consent_confirmed"] = gettext(
                "the patient's consent to telemedicine must be recorded"
            )
        if errors:
            raise ValidationFailed(
                gettext("The request is not complete"), details={"fields": errors}
            )
        _record_consent(actor, consultation.patient)
        moment = clock.now()
        consultation.submitted_at = consultation.submitted_at or moment
        return {"resubmission": consultation.qc_round > 0}

    return perform(actor, consultation_id, "submit", change=check)


def _record_consent(actor: User, patient: Patient) -> None:
    if patient_queries.current_consents(patient).get(ConsentKind.TELEMEDICINE) is not True:
        patient_services.record_consent(
            actor,
            patient,
            ConsentKind.TELEMEDICINE,
            True,
            note=gettext("confirmed on a consultation request"),
        )


def withdraw(actor: User, consultation_id: int, reason: str) -> Consultation:
    return perform(
        actor,
        consultation_id,
        "withdraw",
        reason=_required(reason),
        change=lambda c: _release_expert(actor, c),
    )


def quality_check(
    actor: User,
    consultation_id: int,
    *,
    accept: bool,
    checklist: dict[str, bool],
    reasons: str = "",
) -> Consultation:
    def record(consultation: Consultation) -> dict[str, Any]:
        policy = policy_for(consultation.kind)
        known = {item.code for item in policy.checklist}
        unknown = set(checklist) - known
        if unknown:
            raise ValidationFailed(
                gettext("Unknown checklist items"),
                details={"fields": {"checklist": sorted(unknown)}},
            )
        missing = [
            item.code for item in policy.checklist if item.required and not checklist.get(item.code)
        ]
        if accept and missing:
            raise ValidationFailed(
                gettext("Required checks are not ticked"),
                details={"fields": {"checklist": missing}},
            )
        if not accept and not reasons.strip():
            raise ValidationFailed(
                gettext("Say why the request is returned"),
                details={"fields": {"reasons": gettext("is required")}},
            )
        consultation.qc_round += 1
        QualityCheck.objects.create(
            consultation=consultation,
            round=consultation.qc_round,
            reviewer=actor,
            checklist=checklist,
            outcome=QualityCheck.Outcome.ACCEPTED if accept else QualityCheck.Outcome.RETURNED,
            reasons=reasons.strip(),
        )
        return {"round": consultation.qc_round, "missing": missing}

    return perform(
        actor,
        consultation_id,
        "qc_accept" if accept else "qc_return",
        reason=reasons.strip(),
        change=record,
    )


def triage(
    actor: User,
    consultation_id: int,
    *,
    expert_id: int,
    department_id: int | None = None,
    reason: str = "",
    reassign: bool = False,
) -> Consultation:
    """Assign to an expert (and so to the expert's institution and department), or with
    ``reassign`` move an assigned or scheduled case to another, which drops its schedule.

    The caller says which it means: a manager who triaged a case another manager has just
    assigned must get 409, not silently reassign it.
    """
    action = "reassign" if reassign else "triage"

    def assign(consultation: Consultation) -> dict[str, Any]:
        expert = (
            User.objects.filter(pk=expert_id, role=Role.EXPERT, is_active=True)
            .select_related("institution", "practitioner__department")
            .first()
        )
        if expert is None or expert.institution is None:
            raise ValidationFailed(
                gettext("No such expert"),
                details={"fields": {"expert_id": gettext("no such expert")}},
            )
        if expert.institution.tier not in EXPERT_TIERS:
            raise ValidationFailed(
                gettext("Experts come from the province, a city sub-centre or a partner"),
                details={"fields": {"expert_id": gettext("not at an expert institution")}},
            )
        department = None
        if department_id is not None:
            department = Department.objects.filter(
                pk=department_id, institution=expert.institution
            ).first()
            if department is None:
                raise ValidationFailed(
                    gettext("The department is not at the expert's institution"),
                    details={"fields": {"department_id": gettext("not at that institution")}},
                )
        elif expert.practitioner and expert.practitioner.department:
            department = expert.practitioner.department
        previous = consultation.assigned_expert_id
        _release_expert(actor, consultation)
        consultation.assigned_expert = expert
        consultation.assigned_institution = expert.institution
        consultation.assigned_department = department
        patient_services.grant_access(
            actor,
            consultation.patient,
            expert,
            reason=gettext("assigned consultation"),
            source=f"consultation:{consultation.pk}",
        )
        return {
            "expert": expert.get_username(),
            "institution": expert.institution.code,
            "previous_expert": previous,
        }

    return perform(actor, consultation_id, action, reason=reason, change=assign)


def _release_expert(actor: User, consultation: Consultation) -> dict[str, Any]:
    """Take the case off its expert (reassign, decline, withdraw, cancel)."""
    if consultation.assigned_expert_id:
        patient_services.revoke_access(actor, source=f"consultation:{consultation.pk}")
    consultation.assigned_expert = None
    consultation.scheduled_start = consultation.scheduled_end = None
    consultation.room = None
    return {}


def schedule(
    actor: User,
    consultation_id: int,
    *,
    start: dt.datetime,
    end: dt.datetime | None = None,
    room_id: int | None = None,
) -> Consultation:
    """Book time (and a room) for the assigned expert; refused with the clash named when the
    expert or the room is already booked."""

    def book(consultation: Consultation) -> dict[str, Any]:
        finish = end or start + dt.timedelta(minutes=policy_for(consultation.kind).session_minutes)
        if finish <= start:
            raise ValidationFailed(
                gettext("The session must end after it starts"),
                details={"fields": {"end": gettext("before the start")}},
            )
        room = None
        if room_id is not None:
            room = ConsultationRoom.objects.filter(pk=room_id, active=True).first()
            if room is None:
                raise ValidationFailed(
                    gettext("No such room"),
                    details={"fields": {"room_id": gettext("no such room")}},
                )
        expert = consultation.assigned_expert
        scheduling.lock_rows(expert, room)
        scheduling.ensure_free(expert, room, start, finish, excluding=consultation.pk)
        consultation.scheduled_start, consultation.scheduled_end, consultation.room = (
            start,
            finish,
            room,
        )
        return {
            "start": start.isoformat(),
            "end": finish.isoformat(),
            "room": room.pk if room else None,
        }

    return perform(actor, consultation_id, "schedule", change=book)


def start_session(actor: User, consultation_id: int) -> Consultation:
    return perform(actor, consultation_id, "start_session", change=_first_response)


def _first_response(consultation: Consultation) -> dict[str, Any]:
    consultation.first_response_at = consultation.first_response_at or clock.now()
    return {}


def decline(actor: User, consultation_id: int, reason: str) -> Consultation:
    def release(consultation: Consultation) -> dict[str, Any]:
        consultation.assigned_institution = None
        consultation.assigned_department = None
        return _release_expert(actor, consultation)

    return perform(actor, consultation_id, "decline", reason=_required(reason), change=release)


def conclude(actor: User, consultation_id: int, draft: signing.ConclusionDraft) -> Conclusion:
    holder: dict[str, Conclusion] = {}

    def sign(consultation: Consultation) -> dict[str, Any]:
        # Validated inside the step, after scope and state: an outsider learns nothing.
        valid = signing.validate(draft, amending=False)
        holder["conclusion"] = _sign(actor, consultation, valid, version=1, supersedes=None)
        _first_response(consultation)
        consultation.concluded_at = clock.now()
        return {"version": 1, "sha256": holder["conclusion"].text_sha256}

    perform(actor, consultation_id, "conclude", change=sign)
    return holder["conclusion"]


def amend(actor: User, consultation_id: int, draft: signing.ConclusionDraft) -> Conclusion:
    holder: dict[str, Conclusion] = {}

    def sign(consultation: Consultation) -> dict[str, Any]:
        valid = signing.validate(draft, amending=True)
        latest = consultation.conclusions.order_by("-version").first()
        version = (latest.version if latest else 0) + 1
        holder["conclusion"] = _sign(actor, consultation, valid, version=version, supersedes=latest)
        return {
            "version": version,
            "sha256": holder["conclusion"].text_sha256,
            "reason": valid.amendment_reason,
        }

    perform(actor, consultation_id, "amend", reason=draft.amendment_reason.strip(), change=sign)
    return holder["conclusion"]


def _sign(
    actor: User,
    consultation: Consultation,
    draft: signing.ConclusionDraft,
    *,
    version: int,
    supersedes: Conclusion | None,
) -> Conclusion:
    moment = clock.now()
    text = signing.signed_text(consultation, draft, actor, moment, version)
    return Conclusion.objects.create(
        consultation=consultation,
        version=version,
        findings=draft.findings,
        diagnosis=draft.diagnosis,
        icd10_codes=list(draft.icd10_codes),
        recommendations=draft.recommendations,
        amendment_reason=draft.amendment_reason,
        supersedes=supersedes,
        signed_by=actor,
        signed_at=moment,
        signed_text=text,
        text_sha256=signing.digest(text),
    )


def close(actor: User, consultation_id: int) -> Consultation:
    def closing(consultation: Consultation) -> dict[str, Any]:
        consultation.closed_at = clock.now()
        return {}

    return perform(actor, consultation_id, "close", change=closing)


def cancel(actor: User, consultation_id: int, reason: str) -> Consultation:
    return perform(
        actor,
        consultation_id,
        "cancel",
        reason=_required(reason),
        change=lambda c: _release_expert(actor, c),
    )


def post_message(actor: User, consultation_id: int, body: str) -> Message:
    """A question or answer on the case's thread, by anyone on the case."""
    consultation = access(actor, consultation_id)
    body = body.strip()
    if not body:
        raise ValidationFailed(
            gettext("A message cannot be empty"),
            details={"fields": {"body": gettext("is required")}},
        )
    if len(body) > 5000:
        raise ValidationFailed(
            gettext("A message is at most 5000 characters"),
            details={"fields": {"body": gettext("too long")}},
        )
    if consultation.state == State.DRAFT:
        raise PermissionDenied(gettext("Submit the request before starting its thread"))
    with transaction.atomic():
        message = Message.objects.create(consultation=consultation, author=actor, body=body)
        if actor.pk == consultation.assigned_expert_id and consultation.first_response_at is None:
            Consultation.objects.unscoped("first response stamp").filter(pk=consultation.pk).update(
                first_response_at=message.at
            )
        audit.record(
            actor,
            Action.CREATE,
            object_type="consultation_message",
            object_id=message.pk,
            patient_id=consultation.patient_id,
            detail={"consultation": consultation.number},
        )
        publish_change(consultation, "message", consultation.state, actor)
    return message


def give_feedback(
    actor: User, consultation_id: int, *, rating: int, comment: str = "", follow_up: str = ""
) -> Feedback:
    consultation = access(actor, consultation_id)
    if (
        actor.role not in REQUESTING_ROLES
        or actor.institution_id != consultation.requesting_institution_id
    ):
        raise PermissionDenied(gettext("Only the requesting side gives feedback"))
    if consultation.state not in (State.CONCLUDED, State.CLOSED):
        raise PermissionDenied(gettext("Feedback comes after the conclusion"))
    if not 1 <= rating <= 5:
        raise ValidationFailed(
            gettext("Rate from 1 to 5"), details={"fields": {"rating": gettext("1 to 5")}}
        )
    with transaction.atomic():
        feedback = Feedback.objects.create(
            consultation=consultation,
            author=actor,
            rating=rating,
            comment=comment.strip(),
            follow_up=follow_up.strip(),
        )
        record_on_case(
            actor,
            consultation,
            "feedback",
            audit_action=Action.CREATE,
            object_type="consultation_feedback",
            object_id=feedback.pk,
            detail={"rating": rating},
        )
    return feedback


def _required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            gettext("Give a reason"), details={"fields": {"reason": gettext("is required")}}
        )
    return reason


def expert_institutions() -> list[Institution]:
    return list(Institution.objects.filter(tier__in=EXPERT_TIERS, active=True))
