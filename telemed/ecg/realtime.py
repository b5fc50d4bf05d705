"""Live ECG pools ("/ws/ecg/"): every on-duty expert of a pool is told of a new ECG at once
(critical ones flagged for the alarm), of a claim (the row shows who took it) and of an ECG
leaving the pool; the requesting site is told of every change of its ECGs (the report).

The event bus delivers ``consultation.changed`` after commit; ``on_consultation_changed``
routes an ECG's change to the groups of its pools and of its requesting site. Each expert's
consumer forwards a pool message only while the expert is on duty in that pool (their
shifts are read once on connect). The worklist also works without this: a refresh shows
the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from telemed.accounts.models import Role
from telemed.consultations.states import Kind
from telemed.core import clock
from telemed.ecg import present
from telemed.ecg.models import DutyShift, EcgRecording
from telemed.ecg.pools import case_pool_ids
from telemed.notifications import push
from telemed.notifications.consumers import SignedInConsumer

if TYPE_CHECKING:
    from telemed.accounts.models import User

# Steps after which the ECG (again) waits in its pools.
ARRIVES = frozenset({"submit", "release", "escalate"})
LEAVES = frozenset({"withdraw", "cancel"})
# A consumer looks this far ahead for shifts, so a shift that starts later today counts.
LOOKAHEAD = dt.timedelta(hours=24)


def pool_group(pool_id: int) -> str:
    return f"ecg-pool-{pool_id}"


def site_group(institution_id: int) -> str:
    return f"ecg-site-{institution_id}"


def on_consultation_changed(payload: dict[str, Any]) -> None:
    """Event subscriber: route an ECG's change to its pools and its requesting site."""
    if payload.get("kind") != Kind.ECG:
        return
    action = payload.get("action")
    consultation_id = payload.get("id")
    if not isinstance(consultation_id, int):
        return
    recording = (
        EcgRecording.objects.unscoped("routing a push to the case's pools")
        .select_related(
            "consultation__patient",
            "consultation__requesting_institution",
            "consultation__assigned_expert__practitioner",
        )
        .filter(consultation_id=consultation_id)
        .first()
    )
    if recording is None:
        return
    case = recording.consultation
    message: dict[str, Any] | None = None
    if action in ARRIVES:
        row = present.row(case)
        row["submitted_at"] = case.submitted_at.isoformat() if case.submitted_at else None
        message = {"type": "new", "row": row}
    elif action == "claim":
        message = {"type": "taken", "id": case.pk, "by": present.person(case.assigned_expert)}
    elif action in LEAVES:
        message = {"type": "gone", "id": case.pk}
    if message is not None:
        pool_ids = sorted(case_pool_ids(recording))
        for pool_id in pool_ids:
            push.group_send(
                pool_group(pool_id), {"type": "ecg.pool", "pool_ids": pool_ids, "message": message}
            )
    push.group_send(
        site_group(case.requesting_institution_id),
        {
            "type": "ecg.site",
            "institution_id": case.requesting_institution_id,
            "message": {
                "type": "changed",
                "id": case.pk,
                "action": action,
                "state": case.state,
                "state_label": present.state_label(case),
            },
        },
    )


def _shifts(user: User) -> list[tuple[int, dt.datetime, dt.datetime]]:
    now = clock.now()
    return list(
        DutyShift.objects.filter(
            expert=user, ends_at__gt=now, starts_at__lt=now + LOOKAHEAD
        ).values_list("pool_id", "starts_at", "ends_at")
    )


class EcgConsumer(SignedInConsumer):
    """One ECG page's socket: an expert's pools, or a requesting doctor's site."""

    shifts: list[tuple[int, dt.datetime, dt.datetime]]
    groups: list[str]

    async def may_connect(self, user: User) -> bool:
        if user.role == Role.EXPERT:
            self.shifts = await database_sync_to_async(_shifts)(user)
            self.groups = sorted({pool_group(pool_id) for pool_id, _s, _e in self.shifts})
            return True
        if user.role in (Role.REQUESTING_DOCTOR, Role.SYSTEM) and user.institution_id:
            self.shifts = []
            self.groups = [site_group(user.institution_id)]
            return True
        return False

    def groups_for(self, user: User) -> list[str]:
        return self.groups

    async def on_accepted(self) -> None:
        await self.send_json({"type": "hello", "pools": len(self.groups)})

    def on_duty_in(self, pool_ids: list[int]) -> bool:
        now = clock.now()
        return any(
            pool_id in pool_ids and start <= now < end for pool_id, start, end in self.shifts
        )

    async def ecg_pool(self, event: dict[str, Any]) -> None:
        if self.user.role == Role.EXPERT and self.on_duty_in(event.get("pool_ids", [])):
            await self.send_json(event["message"])

    async def ecg_site(self, event: dict[str, Any]) -> None:
        # The group is the user's own site; the check keeps it so if a name ever collides.
        if event.get("institution_id") == self.user.institution_id:
            await self.send_json(event["message"])
