"""Whatever a browser sends, a page answers with a page or a form error, never a 500."""

from __future__ import annotations

import pytest

NASTY = [
    "",
    " ",
    "x" * 5000,
    "\x00",
    "'; DROP TABLE patients; --",
    "<script>alert(1)</script>",
    "９９",
    "🙂",
]


@pytest.mark.parametrize("value", NASTY)
def test_register_form(client, alice, value):
    client.force_login(alice)
    fields = ("name", "sex", "birth_date", "record_number", "resident_id", "consent_telemedicine")
    response = client.post("/patients/new/", {field: value for field in fields})
    assert response.status_code < 500
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/patients/", ("q", "page")),
        ("/experts/", ("q", "department", "disease", "page")),
        ("/network/", ("q", "tier", "page")),
        ("/audit/", ("actor", "action", "outcome", "patient_id", "since", "until", "page")),
    ],
)
def test_search_pages(client, people, url, fields, value):
    client.force_login(people["administrator"])
    response = client.get(url, {field: value for field in fields})
    assert response.status_code < 500
