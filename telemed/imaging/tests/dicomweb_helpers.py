"""Helpers for the DICOMweb tests: multipart bodies and a hospital system's bearer token."""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

from django.test import Client

from telemed.accounts.services import create_api_client
from telemed.imaging.dicomweb.multipart import boundary_of, parts

BOUNDARY = "telemed-test-boundary"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def multipart(*bodies: bytes, content_type: str = "application/dicom") -> bytes:
    out = b""
    for body in bodies:
        out += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def split_multipart(content_type: str, body: bytes) -> list[bytes]:
    with (
        tempfile.TemporaryDirectory() as directory,
        parts(io.BytesIO(body), boundary_of(content_type), Path(directory)) as found,
    ):
        return [part.path.read_bytes() for part in found]


def bearer_token(code: str) -> str:
    created = create_api_client(code)
    basic = base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode()
    response = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])
