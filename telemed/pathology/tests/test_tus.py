"""Resumable slide uploads (tus 1.0.0): created on a case, sent in pieces, resumed from the
offset the hub reports, verified against the announced SHA-256, registered at the end."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from telemed.pathology import tus
from telemed.pathology.models import Slide, SlideUpload
from telemed.testing import sign_in

TUS = {"Tus-Resumable": "1.0.0"}


def _meta(**values: object) -> str:
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in values.items())


def _create(client, case, data: bytes, **extra: object):
    meta = _meta(consultation=case.pk, filename="core.svs", stain="H&E", **extra)
    return client.post(
        "/pathology/tus/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
    )


def _patch(client, location: str, offset: int, chunk: bytes):
    return client.patch(
        location,
        data=chunk,
        content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": str(offset)},
    )


def test_options(client, alice) -> None:
    answer = client.options("/pathology/tus/")
    assert answer.status_code == 204 and answer["Tus-Version"] == "1.0.0"
    assert answer["Tus-Extension"] == "creation"


def test_upload_in_pieces_with_a_resume(client, alice, bob, case, svs: Path) -> None:
    data = svs.read_bytes()
    sign_in(client, alice)
    created = _create(client, case, data, sha256=hashlib.sha256(data).hexdigest())
    assert created.status_code == 201, created.content
    location = created["Location"]
    third = len(data) // 3
    assert _patch(client, location, 0, data[:third])["Upload-Offset"] == str(third)
    # A client that lost track asks where to go on, and a wrong offset is refused.
    assert client.head(location, headers=TUS)["Upload-Offset"] == str(third)
    wrong = _patch(client, location, 0, data[:third])
    assert wrong.status_code == 409 and wrong.json()["offset"] == third
    assert _patch(client, location, third, data[third : 2 * third]).status_code == 204
    assert not Slide.objects.visible_to(alice).exists()
    done = _patch(client, location, 2 * third, data[2 * third :])
    assert done.status_code == 204 and done["Upload-Offset"] == str(len(data))
    slide = Slide.objects.visible_to(alice).get(pk=int(done["X-Slide-Id"]))
    assert slide.sha256 == hashlib.sha256(data).hexdigest() and slide.stain == "H&E"
    assert not tus.part_path(SlideUpload.objects.visible_to(alice).get()).exists()
    # Only its uploader reaches an upload.
    sign_in(client, bob)
    assert client.head(location, headers=TUS).status_code == 404


def test_refusals(client, alice, charlie, case, svs: Path, settings) -> None:
    data = svs.read_bytes()
    sign_in(client, charlie)
    assert _create(client, case, data).status_code == 404
    sign_in(client, alice)
    assert client.post("/pathology/tus/", headers={"Upload-Length": "5"}).status_code == 412
    assert client.post("/pathology/tus/", headers={**TUS, "Upload-Length": "5"}).status_code == 400
    location = _create(client, case, data, sha256="0" * 64)["Location"]
    plain = client.patch(location, data=data, content_type="application/octet-stream", headers=TUS)
    assert plain.status_code == 415
    mismatch = _patch(client, location, 0, data)
    assert mismatch.status_code == 422 and mismatch.json()["error"] == "digest_mismatch"
    assert client.head(location, headers=TUS).status_code == 410
    junk = b"not a slide" * 100
    location = _create(client, case, junk)["Location"]
    assert _patch(client, location, 0, junk).status_code == 415
    assert not Slide.objects.visible_to(alice).exists()
    settings.PATHOLOGY_MAX_BYTES = 100
    assert _create(client, case, data).status_code == 413


def test_abandoned_uploads_are_swept(client, alice, case, svs: Path, settings) -> None:
    import datetime as dt
    import os

    from telemed.core import clock

    sign_in(client, alice)
    location = _create(client, case, svs.read_bytes())["Location"]
    _patch(client, location, 0, b"II*\x00")
    upload = SlideUpload.objects.visible_to(alice).get()
    assert tus.sweep_abandoned() == 0
    old = (clock.now() - dt.timedelta(days=8)).timestamp()
    os.utime(tus.part_path(upload), (old, old))
    SlideUpload.objects.visible_to(alice).update(created_at=clock.now() - dt.timedelta(days=8))
    assert tus.sweep_abandoned() == 1
    assert not tus.part_path(upload).exists()
    assert client.head(location, headers=TUS).status_code == 410
