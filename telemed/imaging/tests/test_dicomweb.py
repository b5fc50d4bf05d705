"""DICOMweb through Django's test client: QIDO matching and paging, WADO retrieval of the
stored bytes, metadata, frames and rendered images, STOW with per-instance results, scope,
authentication and bad input."""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pytest
from django.test import Client
from PIL import Image

from telemed.audit.models import AuditEvent
from telemed.imaging.models import ImagingInstance
from telemed.imaging.testing import ct_series
from telemed.imaging.tests.dicomweb_helpers import (
    STOW_TYPE,
    bearer_token,
    multipart,
    split_multipart,
)
from telemed.testing import sign_in


@pytest.fixture
def token(network) -> str:
    return bearer_token("COUNTY_A")


def _stow(client: Client, body: bytes, token: str, url: str = "/dicomweb/studies") -> Any:
    return client.generic(
        "POST", url, body, content_type=STOW_TYPE, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _get(client: Client, url: str, token: str, **extra: Any) -> Any:
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


@pytest.fixture
def stored(tmp_path, token):
    paths = ct_series(tmp_path, 3, patient_id="A-0001", patient_name="Zhang^Xiuying")
    response = _stow(Client(), multipart(*(p.read_bytes() for p in paths)), token)
    assert response.status_code == 200, response.content
    return paths


def _uids(path) -> tuple[str, str, str]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def test_stow_answers_per_instance_and_stores_the_bytes(stored, token):
    answer_instances = ImagingInstance.objects.unscoped("test")
    assert answer_instances.count() == 3
    study, series, sop = _uids(stored[0])
    response = _get(Client(), f"/dicomweb/studies/{study}/series/{series}/instances/{sop}", token)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert split_multipart(response["Content-Type"], body) == [stored[0].read_bytes()]
    whole = _get(Client(), f"/dicomweb/studies/{study}", token)
    parts = split_multipart(whole["Content-Type"], b"".join(whole.streaming_content))
    assert sorted(parts) == sorted(p.read_bytes() for p in stored)


def test_stow_mixed_good_and_bad_is_202_and_names_the_failure(tmp_path, token):
    good = ct_series(tmp_path / "g", 1)[0].read_bytes()
    truncated = ct_series(tmp_path / "t", 1)[0].read_bytes()[:-500]
    polyglot = b"MZ\x90\x00" + ct_series(tmp_path / "p", 1)[0].read_bytes()[4:]
    response = _stow(Client(), multipart(good, truncated, b"not dicom", polyglot), token)
    assert response.status_code == 202, response.content
    answer = response.json()
    assert len(answer["00081199"]["Value"]) == 1
    reasons = [item["00081197"]["Value"][0] for item in answer["00081198"]["Value"]]
    assert reasons == [0xC000, 0xC000, 0xC000]
    assert ImagingInstance.objects.unscoped("test").count() == 1


def test_stow_with_nothing_good_is_409(tmp_path, token):
    huge = pydicom.dcmread(ct_series(tmp_path, 1)[0])
    huge.Rows = huge.Columns = 65535
    buffer = io.BytesIO()
    huge.save_as(buffer, enforce_file_format=True)
    response = _stow(Client(), multipart(buffer.getvalue()), token)
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA700]


def test_stow_to_a_study_url_refuses_other_studies(tmp_path, token):
    path = ct_series(tmp_path, 1)[0]
    response = _stow(Client(), multipart(path.read_bytes()), token, "/dicomweb/studies/1.2.3")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"whatever", "application/dicom", 415),
        (b"no boundary", "multipart/related", 400),
        (b"--other\r\n\r\n", STOW_TYPE, 400),
        (multipart(), STOW_TYPE, 400),
    ],
)
def test_stow_bodies_that_are_not_multipart_dicom(token, body, content_type, status):
    response = Client().generic(
        "POST",
        "/dicomweb/studies",
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == status, response.content
    assert "message" in response.json()


def test_qido_matches_pages_and_includes_fields(stored, token, tmp_path):
    ct_series(tmp_path / "x", 1)  # not stored
    client = Client()
    studies = _get(client, "/dicomweb/studies?PatientName=zhang*", token).json()
    assert len(studies) == 1 and studies[0]["00100020"]["Value"] == ["A-0001"]
    assert studies[0]["00201208"]["Value"] == [3]
    assert _get(client, "/dicomweb/studies?PatientID=B-*", token).json() == []
    study = studies[0]["0020000D"]["Value"][0]
    instances = _get(
        client, f"/dicomweb/studies/{study}/instances?limit=2&offset=1&includefield=00200032", token
    ).json()
    assert len(instances) == 2
    assert "00200032" in instances[0] and "00080018" in instances[0]
    by_tag = _get(client, "/dicomweb/series?00080060=CT&includefield=all", token).json()
    assert by_tag[0]["00180015"]["Value"] == ["CHEST"]
    events = AuditEvent.objects.filter(action="search", object_type__startswith="imaging_")
    assert events.count() == 4


@pytest.mark.parametrize(
    "query", ["NotATag=1", "StudyDate=2026-13-45", "limit=x", "offset=-1", "SeriesNumber=x"]
)
def test_qido_refuses_malformed_queries(stored, token, query):
    level = "series" if "Series" in query else "studies"
    response = _get(Client(), f"/dicomweb/{level}?{query}", token)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_query" or "message" in response.json()


def test_metadata_frames_and_rendered(stored, token):
    study, series, sop = _uids(stored[1])
    client = Client()
    base = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"
    metadata = _get(client, f"{base}/metadata", token).json()
    assert metadata[0]["00080018"]["Value"] == [sop] and "7FE00010" not in metadata[0]
    series_metadata = _get(client, f"/dicomweb/studies/{study}/series/{series}/metadata", token)
    assert len(series_metadata.json()) == 3
    frames = _get(client, f"{base}/frames/1", token)
    assert frames.status_code == 200
    [frame] = split_multipart(frames["Content-Type"], frames.content)
    assert frame == pydicom.dcmread(stored[1]).PixelData
    assert _get(client, f"{base}/frames/2", token).status_code == 404
    png = _get(client, f"{base}/rendered", token, HTTP_ACCEPT="image/png")
    assert png["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)
    jpeg = _get(client, f"{base}/rendered", token)
    assert jpeg["Content-Type"] == "image/jpeg"
    assert _get(client, f"{base}/rendered", token, HTTP_ACCEPT="text/html").status_code == 406


def test_others_see_nothing_and_anonymous_is_refused(stored, network, charlie):
    study, series, sop = _uids(stored[0])
    other = bearer_token("COUNTY_B")
    client = Client()
    assert _get(client, "/dicomweb/studies", other).json() == []
    assert _get(client, f"/dicomweb/studies/{study}", other).status_code == 404
    assert _get(client, f"/dicomweb/studies/{study}/metadata", other).status_code == 404
    sign_in(client, charlie)
    assert client.get("/dicomweb/studies").json() == []
    assert (
        client.get(
            f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/rendered"
        ).status_code
        == 404
    )
    assert Client().get("/dicomweb/studies").status_code == 401
    assert Client().get("/dicomweb/studies", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_a_signed_in_colleague_reads_and_needs_csrf_to_store(stored, alice, tmp_path):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, alice)
    assert len(client.get("/dicomweb/studies").json()) == 1
    body = multipart(ct_series(tmp_path, 1)[0].read_bytes())
    refused = client.generic("POST", "/dicomweb/studies", body, content_type=STOW_TYPE)
    assert refused.status_code == 403


def test_an_expert_cannot_store(network, tmp_path):
    from telemed.testing import make_expert

    expert = make_expert("dr_zhou", network.province, network.cardiology)
    client = Client()
    sign_in(client, expert)
    body = multipart(ct_series(tmp_path, 1)[0].read_bytes())
    response = client.generic("POST", "/dicomweb/studies", body, content_type=STOW_TYPE)
    assert response.status_code == 403


def test_a_stow_body_larger_than_the_form_limit_is_streamed(tmp_path, token, settings):
    paths = ct_series(tmp_path, 5, rows=512, columns=512)
    body = multipart(*(p.read_bytes() for p in paths))
    assert len(body) > settings.MAX_REQUEST_BYTES
    response = _stow(Client(), body, token)
    assert response.status_code == 200, response.content
    assert ImagingInstance.objects.unscoped("test").count() == 5


def test_frame_reads_are_audited_once_per_study_and_window(stored, token):
    from django.core.cache import cache

    cache.clear()
    study, series, _sop = _uids(stored[0])
    client = Client()
    for path in stored:
        sop = _uids(path)[2]
        url = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1"
        assert _get(client, url, token).status_code == 200
    reads = AuditEvent.objects.filter(object_type="imaging_study", detail__dicomweb="frames")
    assert reads.count() == 1


def test_a_transfer_syntax_other_than_the_stored_one_is_406(stored, token):
    study = _uids(stored[0])[0]
    explicit = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1'
    jpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert (
        _get(Client(), f"/dicomweb/studies/{study}", token, HTTP_ACCEPT=explicit).status_code == 200
    )
    refused = _get(Client(), f"/dicomweb/studies/{study}", token, HTTP_ACCEPT=jpeg)
    assert refused.status_code == 406 and "transfer-syntax=*" in refused.json()["message"]
