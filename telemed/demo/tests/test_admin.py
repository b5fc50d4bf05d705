"""The admin screens over the demo network: every list answers, patients stay in scope, the
audit trail cannot be changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telemed.accounts.models import Role, User
from telemed.accounts.services import create_api_client
from telemed.audit.models import AuditEvent
from telemed.demo.accounts import DEMO_CITY, DEMO_COUNTY, DEMO_PROVINCE
from telemed.directory.models import Institution
from telemed.patients.models import Patient

pytestmark = pytest.mark.django_db

TELEMED_APPS = {"directory", "accounts", "patients", "audit"}


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.REQUIRE_SECOND_FACTOR = False


def _staff(username: str, institution_code: str) -> User:
    return User.objects.create(
        username=username,
        role=Role.ADMINISTRATOR,
        institution=Institution.objects.get(code=institution_code),
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def province_admin(demo: Any) -> User:
    # The demo has no hospital-system client: make one so its screen has a row to open.
    create_api_client(DEMO_COUNTY, "Wuyang HIS")
    return _staff("root", DEMO_PROVINCE)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(model: type, view: str, *args: object) -> str:
    meta = model._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_every_changelist_and_change_page_answers(province_admin):
    client = _client(province_admin)
    request = RequestFactory().get("/admin/")
    request.user = province_admin
    for model, model_admin in admin.site._registry.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        # A page of 100 rows must not cost a query per row.
        assert len(queries) < 25, (model, len(queries))
        if model._meta.app_label not in TELEMED_APPS:
            continue
        response = client.get(_url(model, "changelist"), {"q": "舞阳"})
        assert response.status_code == 200, model
        obj = model_admin.get_queryset(request).first()
        assert obj is not None, model
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model


def test_autocomplete_lists_answer(province_admin):
    client = _client(province_admin)
    for app_label, model_name, field, term in [
        ("directory", "institution", "parent", "漯河"),
        ("directory", "practitioner", "specialties", "card"),
        ("directory", "expertpool", "member_experts", "王"),
        ("accounts", "user", "patient", "陈"),
    ]:
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": app_label, "model_name": model_name, "field_name": field, "term": term},
        )
        assert response.status_code == 200, (model_name, field)
        assert response.json()["results"], (model_name, field)


def test_patient_admin_shows_only_the_admins_region(demo):
    city_admin = _staff("luohe-admin", DEMO_CITY)
    response = _client(city_admin).get(_url(Patient, "changelist"))
    assert response.status_code == 200
    shown = response.context["cl"].result_count
    assert shown == Patient.objects.visible_to(city_admin).count()
    assert 0 < shown < demo["patients"]
    elsewhere = (
        Patient.objects.unscoped("test: a patient outside Luohe")
        .exclude(registrations__institution__region__path__startswith="/410000/411100/")
        .first()
    )
    assert elsewhere is not None
    response = _client(city_admin).get(_url(Patient, "change", elsewhere.pk))
    assert response.status_code == 302  # the admin's "does not exist": nothing leaks
    assert elsewhere.name not in response.content.decode()


def test_opening_a_patient_is_audited_and_changes_go_through_the_service(province_admin):
    client = _client(province_admin)
    patient = Patient.objects.visible_to(province_admin).filter(phone="").first()
    assert patient is not None
    response = client.get(_url(Patient, "change", patient.pk))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(
        action="read", patient_id=patient.pk, actor="root", detail__via="admin"
    ).exists()
    data = _post_data(response, phone="0395-0000000")
    response = client.post(_url(Patient, "change", patient.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    patient.refresh_from_db()
    assert patient.phone == "0395-0000000"
    assert AuditEvent.objects.filter(action="update", patient_id=patient.pk).exists()
    # The admin log would show the patient's name to every staff user: not written.
    assert not LogEntry.objects.filter(object_id=str(patient.pk)).exists()


def _post_data(response: Any, **changes: str) -> dict[str, object]:
    form = response.context["adminform"].form
    data: dict[str, object] = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for index, inline_form in enumerate(formset.forms):
            data[f"{formset.prefix}-{index}-id"] = inline_form.instance.pk
            data[f"{formset.prefix}-{index}-patient"] = inline_form.instance.patient_id
    return {**data, **changes}


def test_patients_cannot_be_added_or_deleted_in_the_admin(province_admin):
    client = _client(province_admin)
    patient = Patient.objects.visible_to(province_admin).first()
    assert patient is not None
    assert client.get(_url(Patient, "add")).status_code == 403
    assert client.get(_url(Patient, "delete", patient.pk)).status_code == 403


def test_a_linked_patient_outside_scope_is_shown_by_number_only(demo):
    anyang_admin = _staff("anyang-admin", "HN410500")
    patient_user = User.objects.get(username="patient")
    response = _client(anyang_admin).get(_url(User, "change", patient_user.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert patient_user.patient is not None
    assert f"#{patient_user.patient_id}" in page
    assert patient_user.patient.name not in page


def test_the_audit_trail_is_read_only(province_admin):
    client = _client(province_admin)
    event = AuditEvent.objects.first()
    assert event is not None
    assert client.get(_url(AuditEvent, "add")).status_code == 403
    assert client.get(_url(AuditEvent, "change", event.pk)).status_code == 200
    assert client.post(_url(AuditEvent, "change", event.pk), {"actor": "x"}).status_code == 403
    assert client.get(_url(AuditEvent, "delete", event.pk)).status_code == 403
    event.refresh_from_db()
    assert event.actor != "x"


@pytest.mark.parametrize("term", ["denied", "admin", "demo", "12", "DEMO_COUNTY 3"])
def test_the_audit_trail_can_be_searched(province_admin, term):
    response = _client(province_admin).get(_url(AuditEvent, "changelist"), {"q": term})
    assert response.status_code == 200
