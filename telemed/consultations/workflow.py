"""The one workflow engine every kind of case rides on.

``perform`` is the only way a consultation changes state: it reads the case through the
actor's scope (404 otherwise), locks the row, checks the actor's part and the current state
(409 with a sentence a person understands), applies the step's change, writes the history
row and the audit event, and publishes the change after commit. Two managers triaging the
same case at once: the second waits on the row lock, then finds it assigned and gets 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Consultation, ConsultationEvent
from telemed.consultations.policies import KindPolicy, policy_for
from telemed.consultations.states import State
from telemed.core import clock, events
from telemed.core.errors import InvalidTransition, NotFound, PermissionDenied
from telemed.core.rows import matched

if TYPE_CHECKING:
    from telemed.accounts.models import User

S = State
REQUESTER, QC, MANAGER, EXPERT = "requester", "quality_control", "manager", "expert"
# What a case is shown with: read with the case in one statement wherever it is rendered.
CASE_RELATED = (
    "patient",
    "requesting_institution",
    "assigned_institution",
    "assigned_expert",
    "wanted_specialty",
    "disease",
    "room",
    "requested_by",
)
ACTIVE = frozenset(
    {S.SUBMITTED, S.RETURNED, S.ACCEPTED, S.DECLINED, S.ASSIGNED, S.SCHEDULED, S.IN_SESSION}
)


@dataclass(frozen=True)
class Step:
    action: str
    verb: str | Promise
    sources: frozenset[str]
    target: str | None  # None: the state does not change (an edit, an amendment)
    part: str
    requires: str = ""  # a KindPolicy flag the kind must have for this step
    # The platform itself may take this step (actor None: a timeout job).
    by_system: bool = False

    def target_for(self, consultation: Consultation, policy: KindPolicy) -> str:
        if self.action == "submit":
            return S.SUBMITTED if policy.uses_quality_control else S.ACCEPTED
        return self.target or consultation.state


STEPS: dict[str, Step] = {
    step.action: step
    for step in (
        Step("edit", _("edit"), frozenset({S.DRAFT, S.RETURNED}), None, REQUESTER),
        Step("submit", _("submit"), frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, REQUESTER),
        Step(
            "withdraw",
            _("withdraw"),
            frozenset({S.DRAFT}) | ACTIVE - {S.IN_SESSION},
            S.WITHDRAWN,
            REQUESTER,
        ),
        Step(
            "qc_accept",
            _("accept"),
            frozenset({S.SUBMITTED}),
            S.ACCEPTED,
            QC,
            "uses_quality_control",
        ),
        Step(
            "qc_return",
            _("return"),
            frozenset({S.SUBMITTED}),
            S.RETURNED,
            QC,
            "uses_quality_control",
        ),
        Step(
            "triage",
            _("triage"),
            frozenset({S.ACCEPTED, S.DECLINED}),
            S.ASSIGNED,
            MANAGER,
            "uses_triage",
        ),
        Step(
            "reassign",
            _("reassign"),
            frozenset({S.ASSIGNED, S.SCHEDULED}),
            S.ASSIGNED,
            MANAGER,
            "uses_triage",
        ),
        # A pool kind (ECG): an on-duty expert of the case's pool takes it, and gives it
        # back (or the platform does, when the claim is not reported in time).
        Step("claim", _("claim"), frozenset({S.ACCEPTED}), S.ASSIGNED, EXPERT, "uses_pool"),
        Step(
            "release",
            _("release"),
            frozenset({S.ASSIGNED}),
            S.ACCEPTED,
            EXPERT,
            "uses_pool",
            by_system=True,
        ),
        Step("schedule", _("schedule"), frozenset({S.ASSIGNED, S.SCHEDULED}), S.SCHEDULED, MANAGER),
        Step(
            "start_session",
            _("start the session"),
            frozenset({S.ASSIGNED, S.SCHEDULED}),
            S.IN_SESSION,
            EXPERT,
        ),
        Step("decline", _("decline"), frozenset({S.ASSIGNED, S.SCHEDULED}), S.DECLINED, EXPERT),
        Step(
            "conclude",
            _("sign the conclusion"),
            frozenset({S.ASSIGNED, S.SCHEDULED, S.IN_SESSION}),
            S.CONCLUDED,
            EXPERT,
        ),
        Step("amend", _("amend the conclusion"), frozenset({S.CONCLUDED, S.CLOSED}), None, EXPERT),
        Step("close", _("close"), frozenset({S.CONCLUDED}), S.CLOSED, REQUESTER),
        Step("cancel", _("cancel"), frozenset({S.DRAFT}) | ACTIVE, S.CANCELLED, MANAGER),
    )
}

# Who plays each part. A manager may also close a concluded case for a requester who
# does not; an API client acts for its institution's requesting doctors.
PART_ROLES = {
    REQUESTER: frozenset({Role.REQUESTING_DOCTOR, Role.SYSTEM}),
    QC: frozenset({Role.QUALITY_CONTROL}),
    MANAGER: frozenset({Role.CONSULTATION_MANAGER}),
    EXPERT: frozenset({Role.EXPERT}),
}
EXTRA_ROLES = {"close": frozenset({Role.CONSULTATION_MANAGER})}


def access(actor: User, consultation_id: int) -> Consultation:
    """The case if the actor can see it; NotFound (and a denied audit event) otherwise."""
    consultation = matched(Consultation.objects.visible_to(actor).filter(pk=consultation_id))
    if consultation is None:
        audit.denied(
            actor,
            Action.READ,
            object_type="consultation",
            object_id=consultation_id,
            reason="not in scope",
        )
        raise NotFound(gettext("Consultation not found"))
    return consultation


def plays_part(actor: User | None, step: Step, consultation: Consultation) -> bool:
    if actor is None:
        return step.by_system
    if actor.role in EXTRA_ROLES.get(step.action, ()):
        return True
    if actor.role not in PART_ROLES[step.part]:
        return False
    if step.action == "claim":
        may_claim = policy_for(consultation.kind).may_claim
        return may_claim is not None and may_claim(actor, consultation)
    if step.part == REQUESTER:
        return actor.institution_id == consultation.requesting_institution_id
    if step.part == EXPERT:
        return consultation.assigned_expert_id == actor.pk or (
            step.action == "amend" and consultation.conclusions.filter(signed_by=actor).exists()
        )
    return True  # QC and managers: being able to see the case is their scope


def allowed_actions(actor: User, consultation: Consultation) -> list[str]:
    """What the actor could do now (the pages show these buttons)."""
    policy = policy_for(consultation.kind)
    return [
        step.action
        for step in STEPS.values()
        if consultation.state in step.sources
        and (not step.requires or getattr(policy, step.requires))
        and plays_part(actor, step, consultation)
    ]


class _Refused(Exception):
    """A refusal found inside the step's transaction, audited after its rollback."""

    def __init__(self, error: Exception, audit_action: str, reason: str) -> None:
        super().__init__(reason)
        self.error, self.audit_action, self.reason = error, audit_action, reason


def perform(
    actor: User | None,
    consultation_id: int,
    action: str | Callable[[Consultation], str],
    *,
    reason: str = "",
    change: Callable[[Consultation], dict[str, Any] | None] | None = None,
) -> Consultation:
    """Run one step. ``action`` may be chosen from the locked case (triage or reassign).
    ``change`` mutates the locked case (and may write related rows); it runs inside the
    transaction, so a DomainError it raises leaves nothing behind. What it returns is kept
    in the history row's detail. ``actor`` None is the platform itself (a timeout job), which
    takes only the steps marked ``by_system``."""
    try:
        return _perform(actor, consultation_id, action, reason, change)
    except _Refused as refused:
        # After the rollback, so that the record of the refusal is kept.
        audit.denied(
            actor,
            refused.audit_action,
            object_type="consultation",
            object_id=consultation_id,
            reason=refused.reason,
        )
        raise refused.error from None


def _perform(
    actor: User | None,
    consultation_id: int,
    chosen: str | Callable[[Consultation], str],
    reason: str,
    change: Callable[[Consultation], dict[str, Any] | None] | None,
) -> Consultation:
    # The step's audit events join the chain together at the end of the step.
    with transaction.atomic(), audit.appended_together():
        # The scope check and the row lock are one statement.
        cases = (
            Consultation.objects.visible_to(actor)
            if actor is not None
            else Consultation.objects.unscoped("a step the platform takes itself")
        )
        # The related rows come along for the answer (the API renders the case from this
        # object), but only the case's own row is locked.
        consultation = matched(
            cases.select_related(*CASE_RELATED)
            .select_for_update(of=("self",))
            .filter(pk=consultation_id)
        )
        if consultation is None:
            raise _Refused(NotFound(gettext("Consultation not found")), Action.READ, "not in scope")
        action = chosen(consultation) if callable(chosen) else chosen
        step = STEPS[action]
        if not plays_part(actor, step, consultation):
            raise _Refused(
                PermissionDenied(
                    gettext("You cannot %(verb)s this consultation.") % {"verb": step.verb}
                ),
                Action.UPDATE,
                f"not the {step.part} for {action}",
            )
        policy = policy_for(consultation.kind)
        if step.requires and not getattr(policy, step.requires):
            raise InvalidTransition(
                gettext("A %(kind)s case has no such step: it cannot %(verb)s.")
                % {"kind": consultation.get_kind_display(), "verb": step.verb}
            )
        if consultation.state not in step.sources:
            raise InvalidTransition(
                gettext("Cannot %(verb)s consultation %(number)s: it is now “%(state)s”.")
                % {
                    "verb": step.verb,
                    "number": consultation.number,
                    "state": consultation.get_state_display(),
                },
                details={"state": consultation.state},
            )
        before = consultation.state
        target = step.target_for(consultation, policy)
        detail = (change(consultation) if change else None) or {}
        moment = clock.now()
        consultation.state = target
        consultation.updated_at = moment
        consultation.save()
        ConsultationEvent.objects.create(
            consultation=consultation,
            at=moment,
            actor=actor,
            action=action,
            from_state=before,
            to_state=target,
            reason=reason,
            detail=detail,
        )
        audit.record(
            actor,
            Action.UPDATE,
            object_type="consultation",
            object_id=consultation.pk,
            patient_id=consultation.patient_id,
            detail={"action": action, "from": before, "to": target, "number": consultation.number},
            actor_name="" if actor else "system",
        )
        publish_change(consultation, action, before, actor)
    return consultation


def record_on_case(
    actor: User | None,
    consultation: Consultation,
    action: str,
    *,
    audit_action: str,
    object_type: str,
    object_id: object,
    detail: dict[str, Any] | None = None,
    audit_detail: dict[str, Any] | None = None,
    at: Any = None,
) -> None:
    """Record something done on a case that leaves its state as it is (an attachment, a
    video room opened or joined, feedback): the history row, the audit event, and the change
    published after commit. Call inside the action's transaction."""
    moment = at or clock.now()
    ConsultationEvent.objects.create(
        consultation=consultation,
        at=moment,
        actor=actor,
        action=action,
        from_state=consultation.state,
        to_state=consultation.state,
        detail=detail or {},
    )
    audit.record(
        actor,
        audit_action,
        object_type=object_type,
        object_id=object_id,
        patient_id=consultation.patient_id,
        detail={"consultation": consultation.number, **(audit_detail or {})},
        actor_name="" if actor else "system",
    )
    publish_change(consultation, action, consultation.state, actor)


def publish_change(
    consultation: Consultation, action: str, before: str, actor: User | None
) -> None:
    events.publish(
        "consultation.changed",
        {
            "id": consultation.pk,
            "number": consultation.number,
            "kind": consultation.kind,
            "action": action,
            "from": before,
            "state": consultation.state,
            "urgency": consultation.urgency,
            "requesting_institution_id": consultation.requesting_institution_id,
            "assigned_institution_id": consultation.assigned_institution_id,
            "requested_by_id": consultation.requested_by_id,
            "assigned_expert_id": consultation.assigned_expert_id,
            "actor_id": actor.pk if actor else None,
            "scheduled_start": consultation.scheduled_start.isoformat()
            if consultation.scheduled_start
            else None,
        },
    )
