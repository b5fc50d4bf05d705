from __future__ import annotations

import pytest

from telemed.accounts.models import Role
from telemed.patients.services import grant_access
from telemed.testing import register

ROLES = [role for role in Role if role != Role.SYSTEM]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_its_home(client, people, role):
    client.force_login(people[role])
    response = client.get("/")
    assert response.status_code == 200
    assert f'data-testid="home-{role}"' in response.content.decode()


def test_layout_shows_who_and_where(client, people, network):
    client.force_login(people[Role.REQUESTING_DOCTOR])
    page = client.get("/").content.decode()
    assert 'data-testid="whoami"' in page
    assert "alice" in page
    assert network.county_a.name in page
    assert "申请医生" in page  # the role, in the default language
    assert 'action="/accounts/logout/"' in page
    assert 'action="/i18n/setlang/"' in page


def test_requesting_doctor_sees_own_institution_patients_only(client, people, charlie):
    register(charlie, "王建国", "B-0001")
    client.force_login(people[Role.REQUESTING_DOCTOR])
    page = client.get("/").content.decode()
    assert "张秀英" in page
    assert "王建国" not in page


def test_expert_sees_assigned_patients(client, people, alice, alice_patient):
    expert = people[Role.EXPERT]
    client.force_login(expert)
    assert "张秀英" not in client.get("/").content.decode()
    grant_access(alice, alice_patient, expert, reason="assigned", source="consultation:1")
    page = client.get("/").content.decode()
    assert "张秀英" in page
    assert 'data-testid="expert-profile"' in page


def test_regional_staff_count_their_scope(client, people, charlie):
    register(charlie, "王建国", "B-0001")
    client.force_login(people[Role.CONSULTATION_MANAGER])
    page = client.get("/").content.decode()
    assert 'data-testid="stat-patients">2<' in page
    assert 'data-testid="queue-triage"' in page


def test_city_supervisor_sees_the_city_summary(client, people, charlie):
    register(charlie, "王建国", "B-0001")  # in the other city: not counted
    client.force_login(people[Role.SUPERVISOR])
    page = client.get("/").content.decode()
    assert 'data-testid="stat-patients">1<' in page
    # Anyang city's sub-centre and county hospital: the region alone, not the employer.
    assert 'data-testid="stat-institutions">2<' in page


def test_administrator_counts(client, people):
    client.force_login(people[Role.ADMINISTRATOR])
    page = client.get("/").content.decode()
    assert 'data-testid="stat-institutions">5<' in page
    assert 'data-testid="admin-link"' in page


def test_patient_sees_own_record(client, people, network):
    client.force_login(people[Role.PATIENT])
    page = client.get("/").content.decode()
    assert "张秀英" in page
    assert "A-0001" in page
    assert 'data-testid="consents"' in page


def test_patient_without_record_is_told_so(client, network):
    from telemed.testing import make_user

    client.force_login(make_user("lonely", Role.PATIENT, network.county_a))
    assert client.get("/").status_code == 200
