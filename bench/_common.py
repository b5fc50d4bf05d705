"""What the consultation benchmarks share: a database of their own (made and dropped through
Django's test-database machinery), the people and places, drafts, and percentiles."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

EXPERTS = 10


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary_ms(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": pct(values, 50),
        "p99_ms": pct(values, 99),
        "max_ms": round(max(values), 2) if values else None,
        "mean_ms": round(statistics.fmean(values), 2) if values else None,
    }


# ---------------------------------------------------------------------------------------
# The database of its own.


def _own_database() -> tuple[Any, str]:
    from django.conf import settings
    from django.db import connection

    test = settings.DATABASES["default"].setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(Path(settings.VAR_DIR) / f"bench-consultations-{os.getpid()}.sqlite3")
    else:
        test["NAME"] = f"telemed_bench_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    _close_pool(connection)  # a pool opened on the original database would keep using it
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    _close_pool(connection)
    return connection, original


def _close_pool(connection: Any) -> None:
    """Hand the connection back and close PostgreSQL's pool, so that the next connection
    opens on the database the settings name now."""
    connection.close()
    if connection.alias in getattr(connection, "_connection_pools", {}):
        connection.close_pool()


def _drop_database(connection: Any, original: str) -> None:
    from django.db import connections

    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
    connections.close_all()
    _close_pool(connection)
    connection.creation.destroy_test_db(original, verbosity=0)


# ---------------------------------------------------------------------------------------
# The people and the places.


def _world() -> dict[str, Any]:
    from telemed.accounts.models import Role
    from telemed.consultations.testing import build_team
    from telemed.directory.models import ConsultationRoom, ExpertProfile
    from telemed.testing import build_network, make_expert, make_user

    network = build_network()
    alice = make_user("alice", Role.REQUESTING_DOCTOR, network.county_a)
    charlie = make_user("charlie", Role.REQUESTING_DOCTOR, network.county_b)
    team = build_team(network, alice)
    experts = [team.expert]
    rooms = [team.room]
    for i in range(1, EXPERTS):
        expert = make_expert(f"expert{i}", network.province, network.cardiology)
        assert expert.practitioner is not None
        ExpertProfile.objects.create(practitioner=expert.practitioner)
        experts.append(expert)
        rooms.append(
            ConsultationRoom.objects.create(
                institution=network.province, code=f"r{i + 1}", name=f"会诊室{i + 1}"
            )
        )
    return {
        "network": network,
        "team": team,
        "charlie": charlie,
        "experts": experts,
        "rooms": rooms,
        "viewers": {
            "province_manager": team.manager,
            "province_qc": team.qc,
            "province_supervisor": make_user("supervisor", Role.SUPERVISOR, network.province),
            "city_a_manager": make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a),
            "city_b_manager": make_user("city_b_mgr", Role.CONSULTATION_MANAGER, network.city_b),
        },
    }


def _drafts(requester: Any, count: int, prefix: str) -> list[int]:
    from telemed.consultations import services
    from telemed.testing import register

    patient = register(requester, f"患者{prefix}", f"{prefix}-0001").patient
    return [
        services.create_draft(
            requester,
            patient.pk,
            services.Request(
                clinical_summary="胸痛三天，心电图异常。",
                question="是否需要介入治疗？",
                wanted_specialty="cardiology",
                consent_confirmed=True,
            ),
        ).pk
        for _ in range(count)
    ]


# ---------------------------------------------------------------------------------------
# (a) Full cycles through the JSON API.


def _clients(people: dict[str, Any]) -> dict[str, Any]:
    from django.test import Client

    clients = {}
    for role, user in people.items():
        client = Client()
        client.force_login(user)
        clients[role] = client
    return clients


def cycle_plan(
    case_id: int, expert_id: int, room_id: int, start: str
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """One full cycle as JSON API requests: (step, who, path, body), in order."""
    from telemed.consultations.testing import CHECKLIST

    url = f"/api/consultations/{case_id}"
    return [
        ("submit", "requester", f"{url}/submit", {}),
        ("qc_accept", "qc", f"{url}/quality-check", {"accept": True, "checklist": CHECKLIST}),
        ("triage", "manager", f"{url}/triage", {"expert_id": expert_id}),
        ("schedule", "manager", f"{url}/schedule", {"start": start, "room_id": room_id}),
        (
            "conclude",
            "expert",
            f"{url}/conclusion",
            {
                "findings": "窦性心律，ST段压低。",
                "diagnosis": "不稳定型心绞痛",
                "icd10_codes": ["I20.0"],
                "recommendations": "建议冠脉造影。",
            },
        ),
    ]
