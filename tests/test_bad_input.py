"""Bad input gets a clear 4xx JSON error and changes nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemed.audit.models import AuditEvent
from telemed.patients import queries


def _post(client, body, **extra):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/patients/", data=data, content_type="application/json", **extra)


VALID = {"name": "刘洋", "sex": "male", "birth_date": "1971-03-02", "record_number": "R-1"}


@pytest.fixture
def signed_in(client, alice):  # type: ignore[no-untyped-def]
    client.force_login(alice)
    return client


def _count(user) -> int:  # type: ignore[no-untyped-def]
    return queries.visible_patients(user).count()


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        "null",
        json.dumps({**VALID, "birth_date": "1971-13-40"}),
        json.dumps({**VALID, "sex": "robot"}),
        json.dumps({**VALID, "birth_date": "2999-01-01"}),
        json.dumps({**VALID, "name": ""}),
        json.dumps({**VALID, "name": "x" * 5000}),
        json.dumps({**VALID, "resident_id": "410522198001011234"}),
        json.dumps({**VALID, "unknown_field": 1}),
        json.dumps({k: v for k, v in VALID.items() if k != "record_number"}),
    ],
)
def test_malformed_patient_is_refused_and_changes_nothing(signed_in, alice, body):
    response = _post(signed_in, body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]
    assert _count(alice) == 0


def test_oversized_body_is_413(signed_in, alice, settings):
    settings.MAX_REQUEST_BYTES = 10_000
    response = _post(signed_in, {**VALID, "address": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert _count(alice) == 0


def test_forged_institution_is_refused_and_audited(signed_in, alice):
    response = _post(signed_in, {**VALID, "institution": "COUNTY_B"})
    assert response.status_code == 403
    assert _count(alice) == 0
    event = AuditEvent.objects.filter(outcome="denied").latest("seq")
    assert event.detail["reason"] == "forged institution field" and event.actor == "alice"


def test_own_institution_field_is_accepted(signed_in, alice):
    assert _post(signed_in, {**VALID, "institution": "COUNTY_A"}).status_code == 201


def test_cross_scope_read_is_404_and_audited(client, charlie, alice_patient):
    client.force_login(charlie)
    response = client.get(f"/api/patients/{alice_patient.pk}")
    assert response.status_code == 404
    event = AuditEvent.objects.latest("seq")
    assert (event.actor, event.outcome, event.object_id) == (
        "charlie",
        "denied",
        str(alice_patient.pk),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/patients/../../etc/passwd",
        "/api/patients/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/patients/1%00",
        "/api/patients/-1",
        "/api/patients/99999999999999999999999",
        "/static/../telemed/settings.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
    ],
)
def test_traversal_and_odd_ids_are_404(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.content and b"[project]" not in response.content


def test_duplicate_record_number_is_409(signed_in, alice):
    assert _post(signed_in, VALID).status_code == 201
    response = _post(signed_in, {**VALID, "name": "另一人", "birth_date": "1990-01-01"})
    assert response.status_code == 409
    assert _count(alice) == 1


def test_query_parameters_are_validated(signed_in):
    assert signed_in.get("/api/patients/?limit=100000").status_code == 422
    assert signed_in.get("/api/patients/?offset=-5").status_code == 422
    assert signed_in.get("/api/patients/?q=" + "x" * 500).status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "sex": st.sampled_from(["male", "female", "x"]) | json_values,
            "birth_date": st.dates().map(str) | json_values,
            "record_number": st.text(max_size=50) | json_values,
            "resident_id": st.text(max_size=20) | json_values,
            "consent_telemedicine": json_values,
        },
    )
)
def test_no_body_produces_a_server_error(signed_in, alice, body):
    before = _count(alice)
    response = _post(signed_in, body)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert _count(alice) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("get", "/api/patients/?q=%00", None, None),
        ("post", "/api/patients/", json.dumps({**VALID, "name": "a\u0000b"}), "application/json"),
        ("post", "/patients/new/", "name=a%00b&sex=male", "application/x-www-form-urlencoded"),
    ],
)
def test_nul_characters_are_refused_at_the_border(
    signed_in, alice, method, path, body, content_type
):
    """PostgreSQL cannot store NUL: let through, it would fail deep inside as a 500."""
    if body is None:
        response = getattr(signed_in, method)(path)
    else:
        response = getattr(signed_in, method)(path, data=body, content_type=content_type)
    assert response.status_code == 400
    assert _count(alice) == 0
