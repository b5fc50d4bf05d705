from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.wsgi import LimitedStream
from django.test import AsyncClient, Client, RequestFactory
from django.utils.crypto import get_random_string

from telemed.audit.models import AuditEvent
from telemed.consultations import attachments, services, views_media
from telemed.consultations.models import Attachment, ConsultationEvent
from telemed.consultations.testing import advance, draft
from telemed.core.errors import NotFound, PermissionDenied
from telemed.storage.errors import BlobTooLarge
from telemed.testing import make_user, sign_in

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
TIFF = b"II*\x00" + b"\x00" * 64
DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"\x00" * 32
TEXT_UTF8 = "患者主诉胸痛三天。\n心电图：ST段压低。\n".encode()
TEXT_GB18030 = "患者主诉胸痛三天。\n".encode("gb18030")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def office(main: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(main, "<document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def blob_root(settings, tmp_path) -> Path:
    settings.STORAGE_ROOT = tmp_path / "blobs"
    settings.STORAGE_MIRRORS = []
    return tmp_path / "blobs"


def stored_objects(root: Path) -> list[Path]:
    objects = root / "objects"
    return [p for p in objects.rglob("*") if p.is_file()] if objects.exists() else []


def upload_url(case) -> str:
    return f"/uploads/consultations/{case.pk}/attachments"


def post_file(client, case, content: bytes, content_type: str, name: str = "报告.pdf", **extra):
    return client.post(
        upload_url(case),
        data=content,
        content_type=content_type,
        HTTP_X_FILE_NAME=quote(name),
        **extra,
    )


def test_requester_uploads_lists_and_downloads(client, team, blob_root):
    case = advance(team, draft(team), "submitted")
    sign_in(client, team.requester)
    response = post_file(client, case, PDF, "application/pdf", "检查报告 2026.pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "检查报告 2026.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert len(stored_objects(blob_root)) == 1

    event = ConsultationEvent.objects.visible_to(team.requester).get(
        consultation=case, action="attach"
    )
    assert event.from_state == event.to_state == "submitted"
    assert event.detail["sha256"] == body["sha256"]
    assert AuditEvent.objects.filter(
        object_type="consultation_attachment", action="create", object_id=str(body["id"])
    ).exists()

    listed = client.get(f"/api/consultations/{case.pk}/attachments")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [body["id"]]

    download = client.get(body["url"])
    assert download.status_code == 200
    assert download.streaming
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Length"] == str(len(PDF))
    assert "attachment" in download["Content-Disposition"]
    assert quote("检查报告 2026.pdf") in download["Content-Disposition"]
    assert download["Accept-Ranges"] == "bytes"
    assert AuditEvent.objects.filter(
        object_type="consultation_attachment", action="export", object_id=str(body["id"])
    ).exists()


def test_session_upload_needs_the_csrf_token(team):
    case = draft(team)
    client = Client(enforce_csrf_checks=True)
    sign_in(client, team.requester)
    assert post_file(client, case, PDF, "application/pdf").status_code == 403
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    response = post_file(client, case, PDF, "application/pdf", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def bearer_token(client, institution_code: str) -> str:
    import base64

    from django.core.management import call_command

    out = io.StringIO()
    call_command("client", "create", "--institution", institution_code, stdout=out)
    credentials = json.loads(out.getvalue())
    basic = base64.b64encode(
        f"{credentials['client_id']}:{credentials['client_secret']}".encode()
    ).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return response.json()["access_token"]


def test_a_hospital_system_uploads_with_a_bearer_token(team):
    case = draft(team)
    client = Client(enforce_csrf_checks=True)  # a token needs no CSRF token
    token = bearer_token(client, "COUNTY_A")
    response = post_file(
        client, case, PDF, "application/pdf", "his.pdf", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 201, response.content
    download: Any = client.get(response.json()["url"], HTTP_AUTHORIZATION=f"Bearer {token}")
    assert b"".join(download.streaming_content) == PDF
    other = bearer_token(client, "COUNTY_B")
    refused = post_file(
        client, case, PDF, "application/pdf", "his.pdf", HTTP_AUTHORIZATION=f"Bearer {other}"
    )
    assert refused.status_code == 404


def test_anonymous_is_refused(client, team):
    case = draft(team)
    assert post_file(client, case, PDF, "application/pdf").status_code == 401
    invalid_token = post_file(
        client, case, PDF, "application/pdf", HTTP_AUTHORIZATION="Bearer not-a-token"
    )
    assert invalid_token.status_code == 401


class Exploding:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    def readline(self, *args):
        raise AssertionError("the body was read")


def raw_request(user, case, stream, length: int, content_type: str = "application/pdf"):
    request = RequestFactory().post(
        upload_url(case), data=b"", content_type=content_type, HTTP_X_FILE_NAME="big.pdf"
    )
    request.META["CONTENT_LENGTH"] = str(length)
    request._stream = LimitedStream(stream, length)  # type: ignore[assignment]
    request._read_started = False  # type: ignore[attr-defined]
    request.user = user
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    return request


def test_over_the_limit_is_413_before_reading_and_nothing_is_stored(
    client, team, settings, blob_root
):
    settings.ATTACHMENT_MAX_BYTES = 1000
    case = draft(team)
    response = views_media.upload(raw_request(team.requester, case, Exploding(), 1001), case.pk)
    assert response.status_code == 413
    assert json.loads(response.content)["max_bytes"] == 1000
    # The service refuses by the declared size too, without reading.
    with pytest.raises(BlobTooLarge):
        attachments.add(team.requester, case.pk, Exploding(), "x.pdf", "application/pdf", 1001)
    # Through the whole stack, and a body longer than announced is cut at the limit.
    sign_in(client, team.requester)
    assert post_file(client, case, PDF + b"x" * 1000, "application/pdf").status_code == 413
    with pytest.raises(BlobTooLarge):
        attachments.add(
            team.requester, case.pk, io.BytesIO(PDF + b"x" * 1000), "x.pdf", "application/pdf"
        )
    assert not Attachment.objects.visible_to(team.requester).exists()
    assert stored_objects(blob_root) == []


@pytest.mark.parametrize(
    ("content", "declared", "name", "expected"),
    [
        (PDF, "application/pdf", "a.pdf", "application/pdf"),
        (JPEG, "image/jpeg", "a.jpg", "image/jpeg"),
        (PNG, "image/png", "a.png", "image/png"),
        (TIFF, "image/tiff", "a.tif", "image/tiff"),
        (DICOM, "application/dicom", "a.dcm", "application/dicom"),
        (DICOM, "", "ct.dcm", "application/dicom"),
        (DICOM, "application/octet-stream", "ct", "application/dicom"),
        (office("word/document.xml"), DOCX_TYPE, "a.docx", DOCX_TYPE),
        (office("xl/workbook.xml"), "application/octet-stream", "b.xlsx", XLSX_TYPE),
        (TEXT_UTF8, "text/plain; charset=utf-8", "a.txt", "text/plain"),
        (TEXT_GB18030, "text/plain", "b.txt", "text/plain"),
    ],
)
def test_allowed_types_are_sniffed(client, team, content, declared, name, expected):
    case = draft(team)
    sign_in(client, team.requester)
    response = post_file(client, case, content, declared, name)
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == expected


@pytest.mark.parametrize(
    ("content", "declared"),
    [
        (PDF, "application/x-msdownload"),  # a type we do not take
        (PDF, "text/html"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),  # an executable
        (PNG, "application/pdf"),  # content contradicts the declared type
        (b"<html><script>alert(1)</script>", "image/png"),
        (b"PK\x03\x04" + b"\x00" * 40, DOCX_TYPE),  # a ZIP that is no Office document
        (b"\x7fELF\x02\x01\x01\x00", "text/plain"),
        (b"x=1", "application/x-www-form-urlencoded"),
        (b"--b\r\n", "multipart/form-data; boundary=b"),
    ],
)
def test_wrong_type_is_415_and_nothing_is_stored(client, team, blob_root, content, declared):
    case = draft(team)
    sign_in(client, team.requester)
    response = post_file(client, case, content, declared, "file.bin")
    assert response.status_code == 415, response.content
    assert response.json()["error"] == "unsupported_media_type"
    assert not Attachment.objects.visible_to(team.requester).exists()
    assert stored_objects(blob_root) == []


def test_empty_file_is_refused(client, team):
    case = draft(team)
    sign_in(client, team.requester)
    assert post_file(client, case, b"", "application/pdf").status_code == 411  # no length
    response = post_file(client, case, b"", "application/pdf", CONTENT_LENGTH="0")
    assert response.status_code == 422


def test_another_institution_gets_404(client, team, charlie, blob_root):
    case = advance(team, draft(team), "submitted")
    attachment = attachments.add(
        team.requester, case.pk, io.BytesIO(PDF), "a.pdf", "application/pdf"
    )
    sign_in(client, charlie)
    assert post_file(client, case, PDF, "application/pdf").status_code == 404
    assert client.get(f"/consultations/{case.pk}/attachments/{attachment.pk}").status_code == 404
    assert client.get(f"/api/consultations/{case.pk}/attachments").status_code == 404
    assert AuditEvent.objects.filter(actor="charlie", outcome="denied").exists()
    # An attachment of another case is not reachable through a case one may see.
    own = draft_for(charlie)
    assert client.get(f"/consultations/{own.pk}/attachments/{attachment.pk}").status_code == 404
    assert Attachment.objects.visible_to(team.requester).count() == 1


def draft_for(requester):
    from telemed.testing import register

    patient = register(requester, "王建国", "B-0001").patient
    return services.create_draft(requester, patient.pk, services.Request())


def test_who_may_attach(client, team, bob, network):
    case = advance(team, draft(team), "submitted")
    # A colleague at the requesting institution may.
    sign_in(client, bob)
    assert post_file(client, case, PDF, "application/pdf").status_code == 201
    # Quality control sees the case but does not add to it.
    sign_in(client, team.qc)
    assert post_file(client, case, PDF, "application/pdf").status_code == 403
    # The expert, once assigned.
    sign_in(client, team.expert)
    assert post_file(client, case, PDF, "application/pdf").status_code == 404
    advance_from(team, case, ["accepted", "assigned"])
    assert post_file(client, case, JPEG, "image/jpeg", "ecg.jpg").status_code == 201
    # Nobody once the case is over.
    services.withdraw(team.requester, case.pk, "患者已转院")
    sign_in(client, team.requester)
    response = post_file(client, case, PDF, "application/pdf")
    assert response.status_code == 409
    assert case.number in response.json()["message"]


def advance_from(team, case, steps):
    from telemed.consultations.testing import CHECKLIST

    actions = {
        "accepted": lambda: services.quality_check(
            team.qc, case.pk, accept=True, checklist=CHECKLIST
        ),
        "assigned": lambda: services.triage(team.manager, case.pk, expert_id=team.expert.pk),
    }
    for step in steps:
        actions[step]()


def test_file_names_are_cleaned():
    assert attachments.clean_name("../../etc/passwd") == "passwd"
    assert attachments.clean_name("C:\\Users\\a\\检查.pdf") == "检查.pdf"
    assert attachments.clean_name("a\x00b\x1f.pdf") == "ab.pdf"
    long = attachments.clean_name("报" * 300 + ".pdf")
    assert len(long) == attachments.NAME_MAX and long.endswith(".pdf")
    assert attachments.clean_name("") == attachments.clean_name("...") != ""


class Generated:
    """``size`` bytes of a PDF made up on the fly: never held whole in memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0
        self.digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.sent if n is None or n < 0 else min(n, self.size - self.sent)
        if n <= 0:
            return b""
        chunk = bytearray(n)
        if self.sent == 0:
            chunk[:9] = b"%PDF-1.7\n"
        self.sent += n
        data = bytes(chunk)
        self.digest.update(data)
        return data

    def readline(self, *args):
        return self.read(*args)


def test_upload_streams_with_bounded_memory(team, blob_root):
    size = 30 * 1024 * 1024
    case = draft(team)
    # Warm up first: URL patterns, templates and imports are allocated once per process.
    small = Generated(1024)
    assert (
        views_media.upload(raw_request(team.requester, case, small, 1024), case.pk).status_code
        == 201
    )
    source = Generated(size)
    request = raw_request(team.requester, case, source, size)
    tracemalloc.start()
    try:
        response = views_media.upload(request, case.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert body["size"] == size
    assert body["sha256"] == source.digest.hexdigest()
    # A few chunks of CHUNK_SIZE (1 MiB) in flight at most, never the 30 MiB.
    assert peak < 6 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte upload"


def test_range_requests(client, team):
    content = PDF + bytes(range(256)) * 3
    size = len(content)
    case = draft(team)
    attachment = attachments.add(
        team.requester, case.pk, io.BytesIO(content), "a.pdf", "application/pdf"
    )
    url = f"/consultations/{case.pk}/attachments/{attachment.pk}"
    sign_in(client, team.requester)

    def get(header: str, **extra):
        response = client.get(url, HTTP_RANGE=header, **extra)
        data = b"".join(response.streaming_content) if response.streaming else response.content
        return response, data

    response, data = get("bytes=10-19")
    assert response.status_code == 206
    assert data == content[10:20]
    assert response["Content-Range"] == f"bytes 10-19/{size}"
    assert response["Content-Length"] == "10"
    response, data = get("bytes=-5")
    assert (response.status_code, data) == (206, content[-5:])
    response, data = get(f"bytes={size - 10}-")
    assert (response.status_code, data) == (206, content[-10:])
    response, data = get(f"bytes=0-{size + 100}")
    assert (response.status_code, data) == (206, content)
    response, _ = get(f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"
    # Several ranges, or a stale If-Range: the whole file.
    response, data = get("bytes=0-1,5-6")
    assert (response.status_code, data) == (200, content)
    response, data = get("bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert (response.status_code, data) == (200, content)
    response, data = get("bytes=0-9", HTTP_IF_RANGE=response["ETag"])
    assert (response.status_code, data) == (206, content[:10])


def test_download_under_asgi_is_an_async_stream(team):
    case = draft(team)
    content = PDF * 3
    attachment = attachments.add(
        team.requester, case.pk, io.BytesIO(content), "a.pdf", "application/pdf"
    )
    client = AsyncClient()
    client.force_login(team.requester)

    async def fetch():
        response: Any = await client.get(f"/consultations/{case.pk}/attachments/{attachment.pk}")
        assert response.is_async  # Django would otherwise buffer the whole file
        return response.status_code, b"".join([c async for c in response.streaming_content])

    assert async_to_sync(fetch)() == (200, content)


def test_service_refuses_what_the_view_refuses(team, charlie):
    case = draft(team)
    with pytest.raises(NotFound):
        attachments.add(charlie, case.pk, io.BytesIO(PDF), "a.pdf", "application/pdf")
    county_qc = make_user("qc_a", "quality_control", team.requester.institution)
    with pytest.raises(PermissionDenied):
        attachments.add(county_qc, case.pk, io.BytesIO(PDF), "a.pdf", "application/pdf")
