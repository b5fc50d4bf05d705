from __future__ import annotations

import datetime as dt

from telemed.patients import queries
from telemed.patients.identifiers import make
from telemed.testing import register

VALID = {
    "name": "刘德华",
    "sex": "male",
    "birth_date": "1961-09-27",
    "record_number": "A-1000",
    "consent_telemedicine": "yes",
}


def test_form_renders(client, alice):
    client.force_login(alice)
    response = client.get("/patients/new/")
    assert response.status_code == 200
    assert 'data-testid="register-form"' in response.content.decode()


def test_register_and_land_on_the_record(client, alice):
    client.force_login(alice)
    response = client.post("/patients/new/", VALID)
    assert response.status_code == 302
    patients, total = queries.search_patients(alice, "刘德华")
    assert total == 1
    assert response["Location"] == f"/patients/{patients[0].pk}/"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="messages"' in page


def test_missing_fields_are_form_errors(client, alice):
    client.force_login(alice)
    response = client.post("/patients/new/", {})
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("name", "sex", "birth_date", "record_number"):
        assert f'data-testid="error-{field}"' in page


def test_bad_values_are_form_errors(client, alice):
    client.force_login(alice)
    bad = {**VALID, "birth_date": "not a date", "sex": "robot"}
    response = client.post("/patients/new/", bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-birth_date"' in page
    assert 'data-testid="error-sex"' in page


def test_service_field_errors_show_on_their_fields(client, alice):
    client.force_login(alice)
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    response = client.post("/patients/new/", {**VALID, "birth_date": future})
    assert response.status_code == 422
    assert 'data-testid="error-birth_date"' in response.content.decode()
    response = client.post("/patients/new/", {**VALID, "resident_id": "410522196109270000"})
    assert response.status_code == 422
    assert 'data-testid="error-resident_id"' in response.content.decode()


def test_record_number_in_use_is_a_field_error(client, alice, alice_patient):
    client.force_login(alice)
    response = client.post("/patients/new/", {**VALID, "record_number": "A-0001"})
    assert response.status_code == 409
    assert 'data-testid="error-record_number"' in response.content.decode()


def test_resident_id_of_another_person_is_refused(client, alice, charlie):
    number = make("411121", dt.date(1961, 9, 27), 5)
    register(charlie, "别人", "B-1", birth_date=dt.date(1961, 9, 27), resident_id=number)
    client.force_login(alice)
    response = client.post("/patients/new/", {**VALID, "resident_id": number})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="error-resident_id"' in page
    assert "别人" not in page  # nothing about the other record leaks


def test_possible_duplicate_needs_confirmation(client, alice, alice_patient):
    client.force_login(alice)
    same = {
        **VALID,
        "name": alice_patient.name,
        "sex": alice_patient.sex,
        "birth_date": alice_patient.birth_date.isoformat(),
        "record_number": "A-2000",
    }
    response = client.post("/patients/new/", same)
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="possible-duplicates"' in page
    assert f'href="/patients/{alice_patient.pk}/"' in page
    assert 'name="confirm_new"' in page
    response = client.post("/patients/new/", {**same, "confirm_new": "on"})
    assert response.status_code == 302
    assert queries.search_patients(alice, alice_patient.name)[1] == 2


def test_linking_an_existing_person_says_so(client, alice, charlie):
    number = make("411121", dt.date(1961, 9, 27), 5)
    register(charlie, VALID["name"], "B-1", birth_date=dt.date(1961, 9, 27), resident_id=number)
    client.force_login(alice)
    response = client.post("/patients/new/", {**VALID, "resident_id": number}, follow=True)
    assert response.status_code == 200
    assert len(response.context["registrations"]) == 2
