"""The consultation API: one route per action, thin over services and queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import queries, scheduling, services, signing
from telemed.consultations.models import Conclusion, Consultation
from telemed.consultations.schemas import (
    AmendmentIn,
    ConclusionIn,
    ConsultationOut,
    DraftIn,
    EditIn,
    EventOut,
    FeedbackIn,
    MessageIn,
    MessageOut,
    PageOut,
    QualityCheckIn,
    ReasonIn,
    ScheduleIn,
    SuggestionOut,
    TriageIn,
)
from telemed.consultations.states import SIGNED_STATES
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import NotFound, PermissionDenied

router = Router(tags=["consultations"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
    }


def conclusion_out(conclusion: Conclusion | None) -> dict[str, Any] | None:
    if conclusion is None:
        return None
    return {
        "version": conclusion.version,
        "findings": conclusion.findings,
        "diagnosis": conclusion.diagnosis,
        "icd10_codes": conclusion.icd10_codes,
        "recommendations": conclusion.recommendations,
        "amendment_reason": conclusion.amendment_reason,
        "signed_by": person(conclusion.signed_by),
        "signed_at": conclusion.signed_at,
        "text_sha256": conclusion.text_sha256,
        "signature_holds": signing.signature_holds(conclusion),
    }


def detail(
    user: User, consultation: Consultation, latest: Conclusion | None = None
) -> dict[str, Any]:
    """The case as its API shows it. ``consultation`` comes with its related rows (read
    through ``CASE_RELATED``); ``latest`` is the newest conclusion when the caller has it."""
    c = consultation
    if latest is None and c.state in SIGNED_STATES:
        # Conclusions exist only once a case is concluded.
        latest = c.conclusions.select_related("signed_by").order_by("-version").first()
    return {
        "id": c.pk,
        "number": c.number,
        "kind": c.kind,
        "state": c.state,
        "urgency": c.urgency,
        "patient_id": c.patient_id,
        "patient_name": c.patient.name,
        "requesting_institution": c.requesting_institution.code,
        "requested_by": person(c.requested_by),
        "clinical_summary": c.clinical_summary,
        "question": c.question,
        "wanted_specialty": c.wanted_specialty.code if c.wanted_specialty else None,
        "wanted_expert_id": c.wanted_expert_id,
        "wanted_start": c.wanted_start,
        "disease": c.disease.icd10 if c.disease else None,
        "consent_confirmed": c.consent_confirmed,
        "assigned_institution": c.assigned_institution.code if c.assigned_institution else None,
        "assigned_expert": person(c.assigned_expert),
        "scheduled_start": c.scheduled_start,
        "scheduled_end": c.scheduled_end,
        "room": str(c.room) if c.room else None,
        "submitted_at": c.submitted_at,
        "first_response_at": c.first_response_at,
        "concluded_at": c.concluded_at,
        "allowed_actions": allowed_actions(user, c),
        "conclusion": conclusion_out(latest),
    }


def summary(c: Consultation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "number": c.number,
        "kind": c.kind,
        "state": c.state,
        "urgency": c.urgency,
        "patient_name": c.patient.name,
        "requesting_institution": c.requesting_institution.code,
        "assigned_expert": (c.assigned_expert.get_full_name() or c.assigned_expert.get_username())
        if c.assigned_expert
        else None,
        "scheduled_start": c.scheduled_start,
    }


# A step answers with the case as the step left it: the workflow's locked read comes with the
# related rows (``CASE_RELATED``), so the answer needs no second read. A new draft and
# feedback are read again.
def _reload(user: User, consultation_id: int) -> dict[str, Any]:
    return detail(user, queries.visible(user).get(pk=consultation_id))


def _request(body: Schema, fields: set[str]) -> services.Request:
    values: dict[str, Any] = {name: value for name, value in body.dict().items() if name in fields}
    for name in ("disease", "wanted_specialty", "clinical_summary", "question"):
        if name in values and values[name] is None:
            values[name] = ""
    request = services.Request(fields_set=fields)
    for name, value in values.items():
        setattr(request, name, value)
    return request


class ListParams(Schema):
    state: str = Field(default="", max_length=12)
    kind: str = Field(default="", max_length=20)
    q: str = Field(default="", max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


def _page(found: Any, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return {"total": found.count(), "items": [summary(c) for c in found[offset : offset + limit]]}


@router.get("/", response=PageOut, summary="Consultations in your scope")
def list_consultations(request: HttpRequest, params: Query[ListParams]) -> dict[str, Any]:
    user = _user(request)
    found = queries.search(user, state=params.state, kind=params.kind, text=params.q)
    audit.record(
        user,
        Action.SEARCH,
        object_type="consultation",
        detail={"q": params.q[:100], "state": params.state},
    )
    return _page(found, params.limit, params.offset)


@router.post("/", response={201: ConsultationOut}, summary="Create a draft request for a patient")
def create(request: HttpRequest, body: DraftIn) -> Status[dict[str, Any]]:
    user = _user(request)
    own = user.institution.code if user.institution else None
    if body.requesting_institution is not None and body.requesting_institution != own:
        audit.denied(
            user,
            Action.CREATE,
            object_type="consultation",
            reason="forged institution field",
            detail={"claimed": body.requesting_institution},
        )
        raise PermissionDenied("A request cannot be made for another institution")
    fields = set(body.model_fields_set) - {"patient_id", "requesting_institution"}
    consultation = services.create_draft(user, body.patient_id, _request(body, fields))
    return Status(201, _reload(user, consultation.pk))


class QueueName(Schema):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


QUEUES: dict[str, tuple[Callable[[User], QuerySet[Consultation]], set[str]]] = {
    "quality-control": (queries.quality_control_queue, {Role.QUALITY_CONTROL}),
    "triage": (queries.triage_queue, {Role.CONSULTATION_MANAGER}),
    "scheduling": (queries.scheduling_queue, {Role.CONSULTATION_MANAGER}),
    "worklist": (queries.expert_worklist, {Role.EXPERT}),
    "overdue": (
        queries.overdue,
        {Role.CONSULTATION_MANAGER, Role.SUPERVISOR, Role.QUALITY_CONTROL},
    ),
    "board": (queries.todays_board, set(Role.values)),
}


@router.get(
    "/queues/{name}",
    response=PageOut,
    summary="A queue or worklist: quality-control, triage, "
    "scheduling, worklist (expert), overdue, board (today)",
)
def queue(request: HttpRequest, name: str, params: Query[QueueName]) -> dict[str, Any]:
    user = _user(request)
    if name not in QUEUES:
        raise NotFound("No such queue")
    query, roles = QUEUES[name]
    if user.role not in roles:
        raise NotFound("No such queue")
    return _page(query(user), params.limit, params.offset)


@router.get("/{int:consultation_id}", response=ConsultationOut)
def get_consultation(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    user = _user(request)
    return detail(user, queries.get(user, consultation_id))


@router.patch(
    "/{int:consultation_id}", response=ConsultationOut, summary="Edit a draft or returned request"
)
def edit(request: HttpRequest, consultation_id: int, body: EditIn) -> dict[str, Any]:
    user = _user(request)
    return detail(
        user, services.edit(user, consultation_id, _request(body, set(body.model_fields_set)))
    )


def _action(path: str, summary_text: str):
    return router.post(
        f"/{{int:consultation_id}}/{path}", response=ConsultationOut, summary=summary_text
    )


@_action("submit", "Submit (or resubmit after a return)")
def submit(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    return detail(_user(request), services.submit(_user(request), consultation_id))


@_action("withdraw", "Withdraw the request")
def withdraw(request: HttpRequest, consultation_id: int, body: ReasonIn) -> dict[str, Any]:
    return detail(_user(request), services.withdraw(_user(request), consultation_id, body.reason))


@_action("quality-check", "Quality control: accept, or return with reasons")
def quality_check(
    request: HttpRequest, consultation_id: int, body: QualityCheckIn
) -> dict[str, Any]:
    checked = services.quality_check(
        _user(request),
        consultation_id,
        accept=body.accept,
        checklist=body.checklist,
        reasons=body.reasons,
    )
    return detail(_user(request), checked)


@_action("triage", "Assign to an expert (reassign: true to move an assigned case)")
def triage(request: HttpRequest, consultation_id: int, body: TriageIn) -> dict[str, Any]:
    assigned = services.triage(
        _user(request),
        consultation_id,
        expert_id=body.expert_id,
        department_id=body.department_id,
        reason=body.reason,
        reassign=body.reassign,
    )
    return detail(_user(request), assigned)


@_action("schedule", "Book time and a room; 409 names a clash")
def schedule(request: HttpRequest, consultation_id: int, body: ScheduleIn) -> dict[str, Any]:
    booked = services.schedule(
        _user(request), consultation_id, start=body.start, end=body.end, room_id=body.room_id
    )
    return detail(_user(request), booked)


@_action("start", "The expert starts the session")
def start(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    return detail(_user(request), services.start_session(_user(request), consultation_id))


@_action("decline", "The expert declines (back to triage)")
def decline(request: HttpRequest, consultation_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    services.decline(user, consultation_id, body.reason)
    # Declining takes the case off the expert, who may no longer see it.
    consultation = queries.visible(user).filter(pk=consultation_id).first()
    if consultation is None:
        raise NotFound("Declined; the case is back with triage")
    return detail(user, consultation)


@_action("conclusion", "Sign the conclusion")
def conclude(request: HttpRequest, consultation_id: int, body: ConclusionIn) -> dict[str, Any]:
    conclusion = services.conclude(
        _user(request),
        consultation_id,
        signing.ConclusionDraft(
            body.findings, body.diagnosis, tuple(body.icd10_codes), body.recommendations
        ),
    )
    return detail(_user(request), conclusion.consultation, conclusion)


@_action("amendments", "Amend a signed conclusion with a new signed version")
def amend(request: HttpRequest, consultation_id: int, body: AmendmentIn) -> dict[str, Any]:
    conclusion = services.amend(
        _user(request),
        consultation_id,
        signing.ConclusionDraft(
            body.findings,
            body.diagnosis,
            tuple(body.icd10_codes),
            body.recommendations,
            body.amendment_reason,
        ),
    )
    return detail(_user(request), conclusion.consultation, conclusion)


@_action("close", "Close after reading the conclusion")
def close(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    return detail(_user(request), services.close(_user(request), consultation_id))


@_action("cancel", "Cancel (managers)")
def cancel(request: HttpRequest, consultation_id: int, body: ReasonIn) -> dict[str, Any]:
    return detail(_user(request), services.cancel(_user(request), consultation_id, body.reason))


@router.post(
    "/{int:consultation_id}/feedback",
    response={201: ConsultationOut},
    summary="Feedback and follow-up",
)
def feedback(
    request: HttpRequest, consultation_id: int, body: FeedbackIn
) -> Status[dict[str, Any]]:
    services.give_feedback(
        _user(request),
        consultation_id,
        rating=body.rating,
        comment=body.comment,
        follow_up=body.follow_up,
    )
    return Status(201, _reload(_user(request), consultation_id))


@router.get("/{int:consultation_id}/history", response=list[EventOut])
def history(request: HttpRequest, consultation_id: int) -> list[dict[str, Any]]:
    consultation = queries.get(_user(request), consultation_id)
    return [
        {
            "at": e.at,
            "actor": e.actor.get_username() if e.actor else None,
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
            "detail": e.detail,
        }
        for e in consultation.events.select_related("actor")
    ]


@router.get("/{int:consultation_id}/messages", response=list[MessageOut])
def messages(request: HttpRequest, consultation_id: int) -> list[dict[str, Any]]:
    consultation = queries.get(_user(request), consultation_id)
    return [
        {"id": m.pk, "author": person(m.author), "body": m.body, "at": m.at}
        for m in consultation.messages.select_related("author")
    ]


@router.post("/{int:consultation_id}/messages", response={201: MessageOut})
def post_message(
    request: HttpRequest, consultation_id: int, body: MessageIn
) -> Status[dict[str, Any]]:
    m = services.post_message(_user(request), consultation_id, body.body)
    return Status(201, {"id": m.pk, "author": person(m.author), "body": m.body, "at": m.at})


@router.get(
    "/{int:consultation_id}/suggestions",
    response=list[SuggestionOut],
    summary="Experts for triage: department, disease, load, next free slot",
)
def suggestions(request: HttpRequest, consultation_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    consultation = queries.get(user, consultation_id)
    if user.role != Role.CONSULTATION_MANAGER:
        raise PermissionDenied("Only consultation managers triage")
    return [
        {
            "expert": person(s.expert),
            "institution": s.institution_code,
            "department": s.department,
            "treats_disease": s.treats_disease,
            "active_cases": s.active_cases,
            "next_free": s.next_free,
        }
        for s in scheduling.suggest_experts(consultation)
    ]


class SlotParams(Schema):
    day: dt.date


@router.get(
    "/experts/{int:expert_id}/free-slots",
    response=list[dt.datetime],
    summary="An expert's free half-hour slots on a day (预约专家)",
)
def free_slots(
    request: HttpRequest, expert_id: int, params: Query[SlotParams]
) -> list[dt.datetime]:
    expert = User.objects.filter(pk=expert_id, role=Role.EXPERT, is_active=True).first()
    if expert is None:
        raise NotFound("No such expert")
    return scheduling.free_slots(expert, params.day)
