"""The CapabilityStatement, SMART scope grammar, AuditEvent, and the audit of FHIR reads."""

from __future__ import annotations

import pytest
from django.test import Client

from telemed.accounts.models import Role
from telemed.audit.models import AuditEvent
from telemed.fhir import scopes
from telemed.fhir.resources import served
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import make_his, outcome, valid
from telemed.testing import make_user, sign_in
from telemed.web.tests.catalog import ensure_compiled


def test_the_capability_statement_lists_what_is_served(network):
    response = Client().get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    valid(body)
    assert body["fhirVersion"] == "4.0.1"
    listed = {entry["type"]: entry for entry in body["rest"][0]["resource"]}
    assert set(listed) == set(served())
    assert {"Observation", "ImagingStudy"} <= set(listed)
    assert {i["code"] for i in listed["Patient"]["interaction"]} == {
        "read", "vread", "search-type", "create", "update"
    }  # fmt: skip
    assert {i["code"] for i in listed["AuditEvent"]["interaction"]} == {
        "read",
        "vread",
        "search-type",
    }
    assert "Task:focus" in listed["Task"]["searchInclude"]
    assert listed["Patient"]["conditionalCreate"] is True


def test_smart_scope_grammar():
    grants = scopes.parse("system/Patient.rs system/Task.cu system/*.read")
    assert grants.allows("Patient", "search-type") and not grants.allows("Patient", "create")
    assert grants.allows("Task", "update") and grants.allows("Organization", "read")
    assert not grants.allows("Organization", "create")
    assert scopes.parse("system/*.*").allows("Task", "delete")
    for bad in ("patient/Patient.rs", "system/Patient.sr", "system/Patient.x", "openid"):
        with pytest.raises(scopes.InvalidScope):
            scopes.parse(bad)


def test_reads_searches_and_writes_are_audited(network):
    his = make_his("COUNTY_A")
    before = AuditEvent.objects.count()
    created = his.call("POST", "/fhir/Patient", make.patient()).json_body
    his.call("GET", f"/fhir/Patient/{created['id']}")
    his.call("GET", "/fhir/Patient?gender=female")
    make_his("COUNTY_B").call("GET", f"/fhir/Patient/{created['id']}")
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    kinds = [(e.action, e.outcome) for e in events if e.object_type == "patient"]
    assert ("create", "success") in kinds and ("read", "success") in kinds
    assert ("search", "success") in kinds and ("read", "denied") in kinds
    assert all(e.channel == "api" for e in events if e.object_type == "patient")


def test_audit_events_are_scoped_as_the_auditor_screen(network, client):
    his = make_his("COUNTY_A")
    his.call("GET", "/fhir/Patient")
    assert his.call("GET", "/fhir/AuditEvent").json_body.get("entry", []) == []
    supervisor = make_user("sup", Role.SUPERVISOR, network.province)
    sign_in(client, supervisor)
    response = client.get("/fhir/AuditEvent?action=search&_count=5", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    bundle = response.json()
    valid(bundle)
    assert bundle["entry"] and all(
        e["resource"]["type"]["code"] == "search" for e in bundle["entry"]
    )
    one = bundle["entry"][0]["resource"]["id"]
    assert client.get(f"/fhir/AuditEvent/{one}").status_code == 200
    # A session reads; it cannot write (no CSRF token is asked for, so none may write).
    outcome_response = client.post(
        "/fhir/Patient", make.patient(), content_type="application/fhir+json"
    )
    assert outcome_response.status_code == 401


def test_errors_speak_chinese_when_asked(network):
    ensure_compiled()
    his = make_his("COUNTY_A")
    response = his.call("GET", "/fhir/Spaceship", language="zh-hans")
    assert "本服务不提供" in outcome(response, 404)
