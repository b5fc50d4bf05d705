"""Walks every API route as charlie (another county, another city) with the IDs of alice's
records, and as alice herself.

The routes come from the OpenAPI schema, so a new route is walked without anyone adding it
here; a new path parameter fails the test until it is given sample values below. Scoping is
proved three ways: (1) ENFORCE_SCOPING is on, so any read of patient data that skips the
scoping queries raises UnscopedRead and the request errors; (2) charlie's answers never
contain alice's patient; (3) a route addressing one of alice's records answers 404 to him.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from telemed.api import api
from telemed.testing import sign_in

# Sample values for path parameters: (alice's object, charlie's view of it must be 404?).
PATH_VALUES = {
    "patient_id": lambda ctx: str(ctx["patient"].pk),
    "consultation_id": lambda ctx: str(ctx["consultation"].pk),
    "code": lambda ctx: "COUNTY_A",
    "expert_id": lambda ctx: str(ctx["expert"].pk),
    "name": lambda ctx: "board",
    # Notifications are the caller's own; another person's id answers 404 like a missing one.
    "notification_id": lambda ctx: "1",
    "study_id": lambda ctx: _alices_study(ctx),
    "slide_id": lambda ctx: str(_alices_slide(ctx).pk),
    "annotation_id": lambda ctx: str(_alices_slide(ctx).annotations.get().pk),
    "key_image_id": lambda ctx: str(_alices_slide(ctx).key_images.get().pk),
    "level": lambda ctx: "0",
    "col": lambda ctx: "0",
    "row": lambda ctx: "0",
}
# Path parameters that address patient data: charlie must get 404 for them.
PATIENT_DATA_PARAMS = {
    "patient_id",
    "consultation_id",
    "study_id",
    "slide_id",
    "annotation_id",
    "key_image_id",
}


def _alices_study(ctx: dict[str, object]) -> str:
    """An imaging study alice's county hospital received for her patient (made once)."""
    if "study" not in ctx:
        from telemed.imaging.testing import received_study

        ctx["study"] = received_study(ctx["consultation"].requesting_institution)  # type: ignore[attr-defined]
    return str(ctx["study"].pk)  # type: ignore[attr-defined]


def _alices_slide(ctx: dict[str, object]) -> Any:
    """A whole-slide image on a pathology case of alice's county hospital (made once)."""
    if "slide" not in ctx:
        from telemed.pathology.testing import sample_slide

        ctx["slide"] = sample_slide(ctx["consultation"].requested_by)  # type: ignore[attr-defined]
    return ctx["slide"]


SCHEMA = api.get_openapi_schema()
SAMPLES = {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}
FORMATS = {
    "date": "1980-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _resolve(node: dict) -> dict:  # type: ignore[type-arg]
    while "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in node:
        node = next(option for option in node["anyOf"] if option.get("type") != "null")
        return _resolve(node)
    return node


def _sample_body(operation: dict) -> dict | None:  # type: ignore[type-arg]
    """A body with every required field given a well-typed value, so that the request gets
    past validation to the scope check."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = _resolve(content["schema"])
    body = {}
    for name in schema.get("required", []):
        prop = _resolve(schema["properties"][name])
        body[name] = FORMATS.get(
            prop.get("format", ""), SAMPLES.get(prop.get("type", "string"), "x")
        )
    return body


def _operations() -> list[tuple[str, str, list[str]]]:
    found = []
    for path, methods in SCHEMA["paths"].items():
        for method in methods:
            params = re.findall(r"{(\w+)}", path)
            found.append((path, method, params))
    return found


OPERATIONS = _operations()


def _url(path: str, ctx: dict[str, object]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PATH_VALUES:
            pytest.fail(f"path parameter {name!r} in {path} has no sample value in {__file__}")
        return PATH_VALUES[name](ctx)

    return re.sub(r"{(\w+)}", fill, path)


def _call(client, method: str, path: str, url: str):  # type: ignore[no-untyped-def]
    body = _sample_body(SCHEMA["paths"][path][method])
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def ctx(network, alice, charlie):  # type: ignore[no-untyped-def]
    from telemed.consultations.testing import advance, build_team, draft

    team = build_team(network, alice)
    consultation = advance(team, draft(team), "assigned")
    patient = consultation.patient
    return {
        "patient": patient,
        "consultation": consultation,
        "expert": team.expert,
        "secret_markers": [patient.name, str(patient.mpi_id), consultation.clinical_summary],
    }


def test_there_are_routes_to_walk():
    assert len(OPERATIONS) >= 8
    assert any("patient_id" in params for _, _, params in OPERATIONS)


IDS = [f"{m.upper()} {p}" for p, m, _ in OPERATIONS]
# People who must not reach alice's patient or her case: another county's doctor, a province
# expert the case is not assigned to, and another city's manager and supervisor.
OUTSIDERS = ["charlie", "unassigned_expert", "city_b_manager", "city_b_supervisor"]
# People who may: alice, her colleague bob, the assigned expert, the province's manager.
INSIDERS = ["alice", "bob", "assigned_expert", "province_manager"]


def _person(name: str, network, ctx):  # type: ignore[no-untyped-def]
    from telemed.accounts.models import Role, User
    from telemed.testing import make_expert, make_user

    existing = User.objects.filter(username=name).first()
    if existing:
        return existing
    if name == "assigned_expert":
        return ctx["expert"]
    if name == "unassigned_expert":
        return make_expert(name, network.province, network.cardiology)
    if name == "city_b_manager":
        return make_user(name, Role.CONSULTATION_MANAGER, network.city_b)
    if name == "city_b_supervisor":
        return make_user(
            name, Role.SUPERVISOR, network.province, supervised_region=network.city_b_region
        )
    if name == "province_manager":
        return User.objects.get(username="manager")
    return make_user(name, Role.REQUESTING_DOCTOR, network.county_a)


@pytest.mark.parametrize("outsider", OUTSIDERS)
@pytest.mark.parametrize(("path", "method", "params"), OPERATIONS, ids=IDS)
def test_outsiders_cannot_reach_alices_patients(
    client, network, ctx, outsider, path, method, params
):
    sign_in(client, _person(outsider, network, ctx))
    response = _call(client, method, path, _url(path, ctx))
    assert response.status_code < 500, response.content
    text = response.content.decode()
    for marker in ctx["secret_markers"]:
        assert marker not in text, f"{method.upper()} {path} leaked alice's patient to {outsider}"
    if PATIENT_DATA_PARAMS & set(params):
        assert response.status_code == 404, (
            f"{method.upper()} {path} answered {response.status_code} to {outsider}, not 404"
        )


@pytest.mark.parametrize("insider", INSIDERS)
@pytest.mark.parametrize(("path", "method", "params"), OPERATIONS, ids=IDS)
def test_insiders_walk_every_route_without_unscoped_reads(
    client, network, ctx, insider, path, method, params
):
    sign_in(client, _person(insider, network, ctx))
    response = _call(client, method, path, _url(path, ctx))
    assert response.status_code < 500, response.content


@pytest.mark.parametrize(
    ("path", "method", "params"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS]
)
def test_anonymous_is_refused(client, db, ctx, path, method, params):
    response = _call(client, method, path, _url(path, ctx))
    assert response.status_code in (401, 403, 404), (
        f"{method.upper()} {path} answered {response.status_code}"
    )
