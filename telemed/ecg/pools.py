"""ECG resource pools: which pool a requesting site's ECGs go to, who is on duty in it now,
and the scope that follows (an on-duty expert sees the pool's waiting ECGs, nobody else's).

The pool is ``directory.ExpertPool`` with service ``ecg``. A site without its own pool uses
the nearest one up its parent chain (a township clinic sends to its county's pool).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.states import Kind, State
from telemed.core import clock
from telemed.core.errors import ValidationFailed
from telemed.directory.models import ExpertPool, Institution
from telemed.ecg.models import DutyShift, EcgRecording, PoolEscalation

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation


def pool_for(institution: Institution) -> ExpertPool:
    """The ECG pool serving ``institution``; ValidationFailed when none is configured."""
    seen: set[int] = set()
    current: Institution | None = institution
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        pool = ExpertPool.objects.filter(owner=current, service=ExpertPool.Service.ECG).first()
        if pool is not None:
            return pool
        current = current.parent
    raise ValidationFailed(
        gettext("No ECG reading pool is configured for your institution; ask the administrator.")
    )


def on_duty_pool_ids(user_id: int, at: dt.datetime | None = None) -> set[int]:
    moment = at or clock.now()
    return set(
        DutyShift.objects.filter(
            expert_id=user_id, starts_at__lte=moment, ends_at__gt=moment
        ).values_list("pool_id", flat=True)
    )


def on_duty_expert_ids(pool_ids: set[int], at: dt.datetime | None = None) -> set[int]:
    moment = at or clock.now()
    return set(
        DutyShift.objects.filter(
            pool_id__in=pool_ids, starts_at__lte=moment, ends_at__gt=moment
        ).values_list("expert_id", flat=True)
    )


def case_pool_ids(recording: EcgRecording) -> set[int]:
    """The pools whose on-duty experts may claim the case: its own, and where it escalated."""
    return {recording.pool_id} | (
        {recording.escalated_to_id} if recording.escalated_to_id else set()
    )


def may_claim(actor: User, consultation: Consultation) -> bool:
    """The policy hook the engine calls with the case locked: an expert on duty now in the
    case's pool (or the pool it escalated to)."""
    recording = (
        EcgRecording.objects.unscoped("the engine checks the claimer's pool")
        .filter(consultation_id=consultation.pk)
        .first()
    )
    if recording is None:
        return False
    return bool(case_pool_ids(recording) & on_duty_pool_ids(actor.pk))


def waiting_in_duty_pools(user_id: int) -> Q:
    """The widening of an expert's scope: the waiting ECGs of the pools they are on duty in."""
    moment = clock.now()
    on_duty = DutyShift.objects.filter(
        expert_id=user_id, starts_at__lte=moment, ends_at__gt=moment
    ).values("pool_id")
    # Subqueries, not joins: the engine locks the case with FOR UPDATE in the same statement,
    # which PostgreSQL refuses on the nullable side of an outer join.
    waiting = EcgRecording.objects.filter(
        Q(pool_id__in=on_duty) | Q(escalated_to_id__in=on_duty)
    ).values("consultation_id")
    return Q(kind=Kind.ECG, state=State.ACCEPTED, pk__in=waiting)


def is_member(pool: ExpertPool, expert: User) -> bool:
    """An expert belongs to a pool directly (their expert profile) or by their institution."""
    if expert.role != Role.EXPERT:
        return False
    if expert.institution_id and pool.member_institutions.filter(pk=expert.institution_id).exists():
        return True
    practitioner_id = expert.practitioner_id
    return bool(
        practitioner_id and pool.member_experts.filter(practitioner_id=practitioner_id).exists()
    )


def add_shift(
    actor: User | None, pool: ExpertPool, expert: User, starts_at: dt.datetime, ends_at: dt.datetime
) -> DutyShift:
    """Put a pool member on duty; refuses non-members, non-ECG pools and empty shifts."""
    errors: dict[str, str] = {}
    if pool.service != ExpertPool.Service.ECG:
        errors["pool"] = gettext("not an ECG pool")
    if not is_member(pool, expert):
        errors["expert"] = gettext("not a member of the pool")
    if ends_at <= starts_at:
        errors["ends_at"] = gettext("must be after the start")
    if errors:
        raise ValidationFailed(gettext("The duty shift is not valid"), details={"fields": errors})
    with transaction.atomic():
        shift = DutyShift.objects.create(
            pool=pool, expert=expert, starts_at=starts_at, ends_at=ends_at
        )
        audit.record(
            actor,
            Action.CREATE,
            object_type="ecg_duty_shift",
            object_id=shift.pk,
            detail={"pool": pool.pk, "expert": expert.get_username()},
            actor_name="" if actor else "system",
        )
    return shift


def escalation_pool(pool_id: int) -> ExpertPool | None:
    route = PoolEscalation.objects.filter(pool_id=pool_id).select_related("escalate_to").first()
    return route.escalate_to if route else None
