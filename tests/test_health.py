from __future__ import annotations

from telemed import __version__


def test_it_works(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "database": True}


def test_it_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405


def test_openapi_docs_are_served(client, db):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/patients/" in schema["paths"]
