"""The slide routes over HTTP: upload, descriptor, tiles, associated images, annotations and
key images, with their refusals and their audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from telemed.audit.models import AuditEvent
from telemed.pathology import testing
from telemed.testing import sign_in


@pytest.fixture
def assigned(team, case, svs: Path):
    slide = testing.upload(team.requester, case, svs)
    return testing.assign(team, case), slide


def _reads(object_type: str) -> int:
    return AuditEvent.objects.filter(
        object_type=object_type, action="read", outcome="success"
    ).count()


def test_upload_over_http(client, alice, case, svs: Path, settings) -> None:
    sign_in(client, alice)
    url = f"/pathology/uploads/{case.pk}/slides"
    answer = client.post(
        url,
        data=svs.read_bytes(),
        content_type="application/octet-stream",
        headers={"X-File-Name": "breast%20core.svs", "X-Slide-Stain": "H%26E"},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["name"], body["stain"], body["vendor"]) == ("breast core.svs", "H&E", "aperio")
    bad = client.post(url, data=b"GIF89a...", content_type="application/octet-stream")
    assert bad.status_code == 415 and bad.json()["error"] == "unsupported_slide_format"
    settings.PATHOLOGY_MAX_BYTES = 10
    big = client.post(url, data=b"x" * 11, content_type="application/octet-stream")
    assert big.status_code == 413 and big.json()["max_bytes"] == 10


def test_tiles_descriptor_and_cache_headers(client, team, assigned) -> None:
    _, slide = assigned
    sign_in(client, team.expert)
    base = f"/api/pathology/slides/{slide.pk}"
    dzi = client.get(f"{base}/slide.dzi")
    assert dzi.status_code == 200 and b'TileSize="254"' in dzi.content
    assert b'Width="2048"' in dzi.content and b'Height="1536"' in dzi.content
    opened = _reads("pathology_slide")
    tile = client.get(f"{base}/slide_files/11/3_2.jpeg")
    assert tile.status_code == 200 and tile.content.startswith(b"\xff\xd8\xff")
    assert tile["Cache-Control"].startswith("private") and tile["ETag"]
    again = client.get(f"{base}/slide_files/11/3_2.jpeg", headers={"If-None-Match": tile["ETag"]})
    assert again.status_code == 304
    for level in (0, 5, 9, 11):
        assert client.get(f"{base}/slide_files/{level}/0_0.jpeg").status_code == 200
    # Tiles are not audited one by one: the opening was.
    assert _reads("pathology_slide") == opened
    thumb = client.get(f"{base}/thumbnail.jpeg")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    "tail", ["12/0_0.jpeg", "99/0_0.jpeg", "11/9_0.jpeg", "11/0_7.jpeg", "0/1_0.jpeg"]
)
def test_tiles_out_of_range_answer_404_with_a_reason(client, team, assigned, tail: str) -> None:
    _, slide = assigned
    sign_in(client, team.expert)
    answer = client.get(f"/api/pathology/slides/{slide.pk}/slide_files/{tail}")
    assert answer.status_code == 404 and answer.json()["message"]


def test_outsiders_get_404(client, charlie, assigned) -> None:
    _, slide = assigned
    sign_in(client, charlie)
    for url in ("", "/slide.dzi", "/slide_files/0/0_0.jpeg", "/thumbnail.jpeg", "/annotations"):
        assert client.get(f"/api/pathology/slides/{slide.pk}{url}").status_code == 404
    assert AuditEvent.objects.filter(object_type="pathology_slide", outcome="denied").exists()


def test_label_hidden_from_external_experts(client, network, team, case, svs: Path) -> None:
    from telemed.directory.models import ExpertProfile, Institution, Tier
    from telemed.testing import make_expert

    partner = Institution.objects.create(
        code="PARTNER", name="合作医院", name_en="Partner", tier=Tier.EXTERNAL_PARTNER
    )
    external = make_expert("dr_li", partner, network.cardiology)
    assert external.practitioner is not None
    ExpertProfile.objects.create(practitioner=external.practitioner)
    slide = testing.upload(team.requester, case, svs)
    team.expert = external
    testing.assign(team, case)
    sign_in(client, external)
    base = f"/api/pathology/slides/{slide.pk}"
    assert client.get(base).json()["label_url"] is None
    assert client.get(f"{base}/associated/label.jpeg").status_code == 404
    assert client.get(f"{base}/associated/macro.jpeg").status_code == 200
    assert AuditEvent.objects.filter(object_type="pathology_slide_label", outcome="denied").exists()
    sign_in(client, team.requester)
    label = client.get(f"{base}/associated/label.jpeg")
    assert label.status_code == 200 and label.content.startswith(b"\xff\xd8")
    assert _reads("pathology_slide_label") == 1


def _post(client, url: str, body: dict) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_annotations_are_shared_and_measured(client, team, assigned) -> None:
    _, slide = assigned
    url = f"/api/pathology/slides/{slide.pk}/annotations"
    sign_in(client, team.expert)
    made = _post(client, url, {"kind": "rectangle", "points": [[100, 100], [500, 300]]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["measurements"] == {"width_um": 100.0, "height_um": 50.0, "area_um2": 5000.0}
    line = _post(client, url, {"kind": "distance", "points": [[0, 0], [300, 400]], "label": "d"})
    assert line.json()["measurements"] == {"length_um": 125.0}
    for bad in (
        {"kind": "rectangle", "points": [[0, 0]]},
        {"kind": "circle", "points": [[0, 0]]},
        {"kind": "point", "points": [[5000, 0]]},
        {"kind": "area", "points": [[0, 0], [1, 1]]},
        {"kind": "point", "points": [["a", 1]]},
    ):
        assert _post(client, url, bad).status_code == 422, bad
    sign_in(client, team.requester)
    seen = client.get(url).json()
    assert [a["kind"] for a in seen] == ["rectangle", "distance"] and not seen[0]["mine"]
    assert client.delete(f"/api/pathology/annotations/{body['id']}").status_code == 403
    sign_in(client, team.expert)
    assert client.delete(f"/api/pathology/annotations/{body['id']}").status_code == 204
    assert len(client.get(url).json()) == 1
    assert AuditEvent.objects.filter(object_type="pathology_annotation").count() == 3


def test_key_images(client, team, assigned) -> None:
    _, slide = assigned
    sign_in(client, team.expert)
    url = f"/api/pathology/slides/{slide.pk}/key-images"
    made = _post(client, url, {"x": 0, "y": 0, "width": 2048, "height": 1536, "caption": "全景"})
    assert made.status_code == 201, made.content
    image = client.get(made.json()["url"])
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")
    outside = _post(client, url, {"x": 2000, "y": 0, "width": 100, "height": 100})
    assert outside.status_code == 422
    assert len(client.get(url).json()) == 1


def test_a_slide_that_is_not_available_says_why(client, team, assigned) -> None:
    from telemed.pathology.models import Slide

    _, slide = assigned
    Slide.objects.unscoped("test").filter(pk=slide.pk).update(
        state="failed", failure_reason="checksum mismatch"
    )
    sign_in(client, team.expert)
    for tail in ("slide.dzi", "slide_files/0/0_0.jpeg"):
        answer = client.get(f"/api/pathology/slides/{slide.pk}/{tail}")
        assert answer.status_code == 409 and "checksum mismatch" in answer.json()["message"]
