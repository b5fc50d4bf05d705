"""The duty roster as the ECG centres' managers keep it: who of their experts is on duty in
which pool, and when.

A consultation manager or administrator rosters the experts their scope covers (a county's
manager its own experts; the province centre's, everyone), in the ECG pools those experts
belong to. A shift is ended, never deleted: ending it now keeps the record of who was on
duty, which the audit trail and a later dispute about a late ECG need.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from telemed.accounts.models import Role, User
from telemed.accounts.scoping import scope_for
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core import clock
from telemed.core.errors import NotFound, PermissionDenied, ValidationFailed
from telemed.directory.models import ExpertPool
from telemed.ecg import pools
from telemed.ecg.models import DutyShift

if TYPE_CHECKING:
    from collections.abc import Iterable

# The pages' list (telemed.web.menus) names the same roles.
ROSTER_KEEPERS = frozenset({Role.CONSULTATION_MANAGER, Role.ADMINISTRATOR})
# How far ahead and back the roster page looks.
WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class Placement:
    """An expert the actor may roster and the ECG pools the expert belongs to."""

    expert: User
    pools: tuple[ExpertPool, ...]


def _require_keeper(actor: User) -> None:
    if actor.role not in ROSTER_KEEPERS:
        raise PermissionDenied(gettext("Only managers and administrators keep the duty roster."))


def rosterable_experts(actor: User) -> list[Placement]:
    """The experts in the actor's scope, each with the ECG pools they may be on duty in."""
    _require_keeper(actor)
    scope = scope_for(actor)
    experts = User.objects.filter(role=Role.EXPERT, is_active=True).select_related(
        "practitioner", "institution"
    )
    if not scope.everything:
        experts = experts.filter(institution_id__in=scope.institution_ids)
    ecg_pools = list(
        ExpertPool.objects.filter(service=ExpertPool.Service.ECG)
        .prefetch_related("member_institutions", "member_experts")
        .select_related("owner")
    )
    placements = []
    for expert in experts.order_by("last_name", "first_name", "username"):
        member_of = tuple(pool for pool in ecg_pools if _member(pool, expert))
        if member_of:
            placements.append(Placement(expert, member_of))
    return placements


def _member(pool: ExpertPool, expert: User) -> bool:
    # The prefetched form of pools.is_member (one query for all pools, not two per pair).
    if expert.institution_id in {i.pk for i in pool.member_institutions.all()}:
        return True
    profile_id = getattr(getattr(expert.practitioner, "expert_profile", None), "pk", None)
    return profile_id is not None and profile_id in {e.pk for e in pool.member_experts.all()}


def shifts(actor: User, pool_ids: Iterable[int] | None = None) -> QuerySet[DutyShift]:
    """The shifts of the experts the actor rosters, from a day ago to a week ahead."""
    _require_keeper(actor)
    now = clock.now()
    found = DutyShift.objects.filter(
        ends_at__gt=now - dt.timedelta(days=1), starts_at__lt=now + WINDOW
    ).select_related("pool", "expert")
    scope = scope_for(actor)
    if not scope.everything:
        found = found.filter(expert__institution_id__in=scope.institution_ids)
    if pool_ids is not None:
        found = found.filter(pool_id__in=list(pool_ids))
    return found.order_by("starts_at", "pk")


def _expert_in_scope(actor: User, expert_id: int) -> User:
    expert = User.objects.filter(pk=expert_id, role=Role.EXPERT).first()
    if expert is None or not scope_for(actor).covers_institution(expert.institution_id):
        raise NotFound(gettext("No such expert in your institutions"))
    return expert


def put_on_duty(
    actor: User, *, pool_id: int, expert_id: int, starts_at: dt.datetime, ends_at: dt.datetime
) -> DutyShift:
    """Add a shift; refuses experts outside the actor's scope, pools the expert is not a
    member of, shifts that end before they start or overlap the expert's shift in the pool."""
    _require_keeper(actor)
    expert = _expert_in_scope(actor, expert_id)
    pool = ExpertPool.objects.filter(pk=pool_id, service=ExpertPool.Service.ECG).first()
    if pool is None:
        raise ValidationFailed(
            gettext("The duty shift is not valid"),
            details={"fields": {"pool": gettext("not an ECG pool")}},
        )
    with transaction.atomic():
        # The expert's row is the lock: two managers rostering one expert at once see each
        # other's shift in the overlap check.
        User.objects.select_for_update().filter(pk=expert.pk).first()
        overlapping = DutyShift.objects.filter(
            Q(pool=pool, expert=expert) & Q(starts_at__lt=ends_at, ends_at__gt=starts_at)
        ).exists()
        if overlapping:
            raise ValidationFailed(
                gettext("The duty shift is not valid"),
                details={"fields": {"starts_at": gettext("overlaps a shift of this expert")}},
            )
        return pools.add_shift(actor, pool, expert, starts_at, ends_at)


def end_shift(actor: User, shift_id: int) -> DutyShift | None:
    """End a shift under way now; cancel one not yet begun (None then)."""
    _require_keeper(actor)
    with transaction.atomic():
        shift = (
            DutyShift.objects.select_for_update()
            .select_related("expert")
            .filter(pk=shift_id)
            .first()
        )
        if shift is None or not scope_for(actor).covers_institution(shift.expert.institution_id):
            raise NotFound(gettext("No such duty shift"))
        now = clock.now()
        if shift.ends_at <= now:
            raise ValidationFailed(gettext("This shift is already over."))
        before = shift.ends_at
        detail = {
            "pool": shift.pool_id,
            "expert": shift.expert.get_username(),
            "starts_at": shift.starts_at.isoformat(),
            "ends_at": before.isoformat(),
        }
        if shift.starts_at >= now:
            audit.record(
                actor,
                Action.DELETE,
                object_type="ecg_duty_shift",
                object_id=shift.pk,
                detail=detail,
            )
            shift.delete()
            return None
        shift.ends_at = now
        shift.save(update_fields=["ends_at"])
        audit.record(
            actor,
            Action.UPDATE,
            object_type="ecg_duty_shift",
            object_id=shift.pk,
            detail={**detail, "ended_at": now.isoformat()},
        )
    return shift
