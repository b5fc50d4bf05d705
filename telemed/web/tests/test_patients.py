from __future__ import annotations

from telemed.accounts.models import Role
from telemed.audit.models import AuditEvent
from telemed.testing import register


def test_charlie_cannot_open_alices_patient(client, alice_patient, charlie):
    client.force_login(charlie)
    response = client.get(f"/patients/{alice_patient.pk}/")
    assert response.status_code == 404
    assert "张秀英" not in response.content.decode()
    assert AuditEvent.objects.filter(
        actor="charlie", outcome="denied", object_id=str(alice_patient.pk)
    ).exists()


def test_alice_opens_her_patient(client, alice, alice_patient):
    client.force_login(alice)
    response = client.get(f"/patients/{alice_patient.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "张秀英" in page
    assert "A-0001" in page


def test_nonexistent_patient_is_the_same_404(client, alice):
    client.force_login(alice)
    assert client.get("/patients/999999/").status_code == 404


def test_patient_sees_only_own_record(client, people, alice, alice_patient):
    other = register(alice, "李四", "A-0002").patient
    client.force_login(people[Role.PATIENT])
    assert client.get(f"/patients/{alice_patient.pk}/").status_code == 200
    assert client.get(f"/patients/{other.pk}/").status_code == 404


def test_resident_id_is_masked(client, alice):
    import datetime as dt

    from telemed.patients.identifiers import make

    number = make("410522", dt.date(1970, 1, 2), 7)
    patient = register(alice, "王五", "A-0003", birth_date=dt.date(1970, 1, 2), resident_id=number)
    client.force_login(alice)
    page = client.get(f"/patients/{patient.patient.pk}/").content.decode()
    assert number not in page
    assert number[-4:] in page


def test_list_and_search(client, alice, alice_patient, charlie):
    register(alice, "李四", "A-0002")
    register(charlie, "张三", "B-0001")
    client.force_login(alice)
    page = client.get("/patients/").content.decode()
    assert "张秀英" in page and "李四" in page and "张三" not in page
    page = client.get("/patients/", {"q": "张"}).content.decode()
    assert "张秀英" in page and "李四" not in page
    page = client.get("/patients/", {"q": "A-0002"}).content.decode()
    assert "李四" in page and "张秀英" not in page


def test_live_search_answers_a_fragment(client, alice, alice_patient):
    client.force_login(alice)
    response = client.get("/patients/", {"q": "张"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "张秀英" in page
    assert "HX-Request" in response["Vary"]


def test_pagination_and_odd_page_numbers(client, alice):
    for number in range(25):
        register(alice, f"患者{number:02d}", f"P-{number:02d}")
    client.force_login(alice)
    first = client.get("/patients/").content.decode()
    assert 'data-testid="pagination"' in first
    second = client.get("/patients/", {"page": "2"}).content.decode()
    assert "患者00" in second and "患者24" not in second
    for odd in ("abc", "-3", "0", "99999999999999999999", "9999"):
        assert client.get("/patients/", {"page": odd}).status_code == 200
    assert "患者00" in client.get("/patients/", {"page": "9999"}).content.decode()


def test_overlong_search_is_not_an_error(client, alice):
    client.force_login(alice)
    assert client.get("/patients/", {"q": "x" * 500}).status_code == 200
