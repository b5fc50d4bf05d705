"""Each page answers its roles and 404s everyone else, so pages cannot be probed by role."""

from __future__ import annotations

import pytest

from telemed.accounts.models import Role

EVERYONE: set[str] = {role for role in Role if role != Role.SYSTEM}
ALLOWED: dict[str, set[str]] = {
    "/patients/": EVERYONE - {Role.EDUCATION_MANAGER, Role.PATIENT},
    "/patients/new/": {Role.REQUESTING_DOCTOR, Role.QUALITY_CONTROL, Role.ADMINISTRATOR},
    "/experts/": EVERYONE,
    "/network/": EVERYONE,
    "/network/COUNTY_A/": EVERYONE,
    "/audit/": {Role.ADMINISTRATOR, Role.SUPERVISOR},
}
CASES = [(url, role) for url in ALLOWED for role in sorted(EVERYONE)]


@pytest.mark.parametrize(("url", "role"), CASES)
def test_page_access(client, people, url, role):
    client.force_login(people[role])
    response = client.get(url)
    assert response.status_code == (200 if role in ALLOWED[url] else 404)


@pytest.mark.parametrize("url", [*ALLOWED, "/patients/1/"])
def test_anonymous_is_sent_to_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_menu_follows_the_role(client, people):
    client.force_login(people[Role.REQUESTING_DOCTOR])
    page = client.get("/").content.decode()
    assert 'href="/patients/new/"' in page
    assert 'href="/audit/"' not in page
    client.force_login(people[Role.PATIENT])
    page = client.get("/").content.decode()
    assert 'href="/patients/"' not in page
    assert 'href="/experts/"' in page
    client.force_login(people[Role.ADMINISTRATOR])
    page = client.get("/").content.decode()
    assert 'href="/admin/"' in page
    assert 'href="/audit/"' in page


def test_not_found_page_is_ours(client, people):
    client.force_login(people[Role.REQUESTING_DOCTOR])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'data-testid="not-found"' in response.content.decode()
