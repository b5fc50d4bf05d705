from __future__ import annotations

import re


def heading(page: str) -> str:
    match = re.search(r'data-testid="home-requesting_doctor">([^<]+)<', page)
    assert match, "no home heading"
    return match.group(1)


def test_language_switch_changes_the_heading(client, alice):
    client.force_login(alice)
    chinese = heading(client.get("/").content.decode())
    assert chinese == "申请医生工作台"
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    english = heading(client.get("/").content.decode())
    assert english == "Requesting doctor's desk"
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert heading(client.get("/").content.decode()) == chinese


def test_every_home_template_is_translated(client, people):
    """No English left on a Chinese page's heading, for any role."""
    for user in people.values():
        client.force_login(user)
        page = client.get("/").content.decode()
        match = re.search(r'data-testid="home-[a-z_]+">([^<]+)<', page)
        assert match
        assert not re.search(r"[A-Za-z]", match.group(1)), match.group(1)
