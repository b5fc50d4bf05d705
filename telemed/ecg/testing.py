"""Builders for ECG workflow tests: a pool with experts on duty, and tracings to send.

The requesting side is county A (alice); its ECG pool is served by the province, with the
city A sub-centre as the escalation pool. ``ten`` experts are on duty in the county pool.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from telemed.accounts.models import Role, User
from telemed.consultations.models import Consultation
from telemed.core import clock
from telemed.directory.models import ExpertPool, Institution
from telemed.ecg import pools, services
from telemed.ecg.models import PoolEscalation
from telemed.patients.models import Patient
from telemed.testing import Network, make_expert, make_user, register

SHIFT = dt.timedelta(hours=12)


@dataclass
class EcgWorld:
    network: Network
    requester: User
    patient: Patient
    pool: ExpertPool
    escalation_pool: ExpertPool
    experts: list[User]
    off_duty: User
    other_pool_expert: User
    escalation_expert: User
    extra: dict[str, object] = field(default_factory=dict)


def ecg_pool(owner: Institution, *members: Institution) -> ExpertPool:
    pool = ExpertPool.objects.create(
        owner=owner,
        service=ExpertPool.Service.ECG,
        name=f"{owner.name}心电资源池",
        name_en=f"{owner.code} ECG pool",
    )
    pool.member_institutions.set(members)
    return pool


def on_duty(pool: ExpertPool, expert: User, *, around: dt.datetime | None = None) -> None:
    moment = around or clock.now()
    pools.add_shift(None, pool, expert, moment - SHIFT, moment + SHIFT)


def build_world(network: Network, *, experts: int = 3) -> EcgWorld:
    requester = User.objects.filter(username="alice").first() or make_user(
        "alice", Role.REQUESTING_DOCTOR, network.county_a
    )
    patient = register(requester, "刘桂兰", "ECG-0001").patient
    pool = ecg_pool(network.county_a, network.province)
    escalation = ecg_pool(network.city_a, network.city_a)
    PoolEscalation.objects.create(pool=pool, escalate_to=escalation)
    readers = []
    for index in range(experts):
        expert = make_expert(f"ecg_dr{index}", network.province, network.cardiology)
        expert.last_name, expert.first_name = "王", f"医生{index}"
        expert.save(update_fields=["last_name", "first_name"])
        on_duty(pool, expert)
        readers.append(expert)
    off_duty = make_expert("ecg_off", network.province, network.cardiology)
    # A province expert on duty in another site's pool (county B's).
    other_pool = ecg_pool(network.county_b, network.province)
    other = make_expert("ecg_other", network.province, network.cardiology)
    on_duty(other_pool, other)
    escalation_expert = make_expert("ecg_city", network.city_a, network.cardiology)
    on_duty(escalation, escalation_expert)
    return EcgWorld(
        network, requester, patient, pool, escalation, readers, off_duty, other, escalation_expert
    )


def wfdb_files(*, name: str = "rec", **signal: Any) -> dict[str, bytes]:
    """A synthetic 12-lead WFDB record (the signal side's known-answer builder); ``signal``
    goes to ``synthetic`` (``heart_rate=180`` for a critical one)."""
    from telemed.ecg.tests.signal_fixtures import synthetic
    from telemed.ecg.tests.signal_fixtures import wfdb_files as write

    record, _truth = synthetic(**signal)
    return write(record, name=name)


def send(world: EcgWorld, **signal: Any) -> Consultation:
    """A township-style ECG submitted by the world's requester (synthetic, 12 leads)."""
    files = wfdb_files(**signal)
    return services.submit_ecg(world.requester, world.patient, files, main="rec.hea")
