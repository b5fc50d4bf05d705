"""The duty roster kept by managers: whom they may roster (their scope's experts, in the
pools those experts belong to), overlapping and backwards shifts refused, shifts ended or
cancelled, every change audited; and the on-duty expert then sees the pool's ECGs."""

from __future__ import annotations

import datetime as dt

import pytest

from telemed.accounts.models import Role
from telemed.audit.models import AuditEvent
from telemed.core import clock
from telemed.core.errors import NotFound, PermissionDenied, ValidationFailed
from telemed.ecg import pools, roster
from telemed.ecg.models import DutyShift
from telemed.ecg.testing import send
from telemed.testing import make_user, sign_in

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def province_manager(world):
    return make_user("ecg_manager", Role.CONSULTATION_MANAGER, world.network.province)


def test_a_manager_puts_an_off_duty_expert_on_the_roster(world, province_manager):
    expert = world.off_duty
    placements = {p.expert.pk: p.pools for p in roster.rosterable_experts(province_manager)}
    assert world.pool in placements[expert.pk]
    assert world.escalation_pool not in placements[expert.pk]  # a city pool, not a member
    now = clock.now()
    shift = roster.put_on_duty(
        province_manager,
        pool_id=world.pool.pk,
        expert_id=expert.pk,
        starts_at=now - HOUR,
        ends_at=now + 8 * HOUR,
    )
    assert pools.on_duty_pool_ids(expert.pk) == {world.pool.pk}
    with pytest.raises(ValidationFailed):
        roster.put_on_duty(
            province_manager,
            pool_id=world.pool.pk,
            expert_id=expert.pk,
            starts_at=now + 2 * HOUR,
            ends_at=now + 10 * HOUR,
        )
    ended = roster.end_shift(province_manager, shift.pk)
    assert ended is not None and ended.ends_at <= clock.now()
    assert pools.on_duty_pool_ids(expert.pk) == set()
    later = roster.put_on_duty(
        province_manager,
        pool_id=world.pool.pk,
        expert_id=expert.pk,
        starts_at=now + 24 * HOUR,
        ends_at=now + 30 * HOUR,
    )
    assert roster.end_shift(province_manager, later.pk) is None
    assert not DutyShift.objects.filter(pk=later.pk).exists()
    actions = list(
        AuditEvent.objects.filter(object_type="ecg_duty_shift", actor=province_manager)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "create", "delete"]


def test_a_county_manager_rosters_only_their_own_experts(world):
    county_manager = make_user("county_mgr", Role.CONSULTATION_MANAGER, world.network.county_a)
    assert roster.rosterable_experts(county_manager) == []
    now = clock.now()
    with pytest.raises(NotFound):
        roster.put_on_duty(
            county_manager,
            pool_id=world.pool.pk,
            expert_id=world.off_duty.pk,
            starts_at=now,
            ends_at=now + HOUR,
        )
    shift = DutyShift.objects.filter(expert=world.experts[0]).first()
    assert shift is not None
    with pytest.raises(NotFound):
        roster.end_shift(county_manager, shift.pk)
    with pytest.raises(PermissionDenied):
        roster.rosterable_experts(world.experts[0])


def test_bad_shifts_change_nothing(world, province_manager):
    now = clock.now()
    before = DutyShift.objects.count()
    for pool_id, starts, ends in (
        (world.pool.pk, now + HOUR, now),  # ends before it starts
        (world.escalation_pool.pk, now, now + HOUR),  # not a member of that pool
    ):
        with pytest.raises(ValidationFailed):
            roster.put_on_duty(
                province_manager,
                pool_id=pool_id,
                expert_id=world.off_duty.pk,
                starts_at=starts,
                ends_at=ends,
            )
    assert DutyShift.objects.count() == before


def test_the_roster_page(client, world, province_manager):
    sign_in(client, province_manager)
    worklist = client.get("/ecg/")
    assert b'data-testid="ecg-roster-link"' in worklist.content
    page = client.get("/ecg/roster/")
    assert page.status_code == 200
    assert f'value="{world.off_duty.pk}:{world.pool.pk}"'.encode() in page.content
    assert client.post("/ecg/roster/", {"placement": "x", "starts_at": ""}).status_code == 422
    start = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))) - HOUR
    fields = {
        "placement": f"{world.off_duty.pk}:{world.pool.pk}",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + 8 * HOUR).strftime("%Y-%m-%dT%H:%M"),
    }
    assert client.post("/ecg/roster/", fields).status_code == 302
    assert client.post("/ecg/roster/", fields).status_code == 422  # overlaps
    assert pools.on_duty_pool_ids(world.off_duty.pk) == {world.pool.pk}
    case = send(world)
    client.logout()
    sign_in(client, world.off_duty)
    assert case.number.encode() in client.get("/ecg/").content
    assert client.get("/ecg/roster/").status_code == 404
    client.logout()
    sign_in(client, province_manager)
    shift = DutyShift.objects.get(expert=world.off_duty)
    assert client.post(f"/ecg/roster/{shift.pk}/end/").status_code == 302
    assert pools.on_duty_pool_ids(world.off_duty.pk) == set()
