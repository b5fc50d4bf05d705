"""The hub's side of edge gateways, in process: registration of a slide whose file stays at
the edge (and its refusals), the descriptor and tile layout built from what the edge
announced, a clear 503 while no edge is connected, the file's arrival by tus verified
against the registered checksum, and the edge's socket relaying a tile request."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import openslide
import pytest
from django.test import Client
from openslide.deepzoom import DeepZoomGenerator

from telemed.core.errors import PermissionDenied
from telemed.pathology import edge_services, relay, services, slides
from telemed.pathology.edge import intake
from telemed.pathology.edge.models import EdgeSlide
from telemed.pathology.models import Slide, SlideState

TUS = {"Tus-Resumable": "1.0.0"}


def _token(institution_code: str) -> str:
    from telemed.accounts.services import create_api_client

    created = create_api_client(institution_code)
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode(),
    )
    return str(answer.json()["access_token"])


def _announcement(case, path: Path) -> dict[str, object]:
    """What an edge sends for ``path`` (the edge's own code, run on this store)."""
    with path.open("rb") as stream:
        blob, entry, _ = services.take_file(stream, path.name)
    row = EdgeSlide.objects.create(
        case_number=case.number, name=path.name, sha256=blob.sha256, entry=entry, size=blob.size
    )
    return intake.registration(row)


def _register(client: Client, token: str, payload: dict[str, object]):
    return client.post(
        "/api/pathology/edge/slides",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.fixture
def edge_token(network) -> str:
    return _token(network.county_a.code)


def test_layout_from_the_size_is_openslides(svs: Path, generic: Path) -> None:
    for path in (svs, generic):
        deepzoom = DeepZoomGenerator(
            openslide.OpenSlide(str(path)), slides.TILE_SIZE, slides.OVERLAP, limit_bounds=True
        )
        width, height = deepzoom.level_dimensions[-1]
        assert slides.descriptor_for(width, height) == deepzoom.get_dzi("jpeg")
        assert slides.deepzoom_tiles(width, height) == list(deepzoom.level_tiles)
    assert slides.deepzoom_tiles(1, 1) == [(1, 1)]


def test_registered_then_viewed_without_an_edge(
    client, team, case, svs: Path, edge_token: str
) -> None:
    payload = _announcement(case, svs)
    created = _register(client, edge_token, payload)
    assert created.status_code == 201, created.content
    slide = created.json()
    assert (slide["state"], slide["at_edge"], slide["edge_online"]) == ("registered", True, False)
    assert slide["sha256"] == payload["sha256"] and slide["received_bytes"] == 0
    again = _register(client, edge_token, payload)
    assert again.status_code == 200 and again.json()["id"] == slide["id"]
    row = Slide.objects.unscoped("test").get(pk=slide["id"])
    assert row.blob_id is None and row.thumbnail_blob_id is not None

    auth = {"HTTP_AUTHORIZATION": f"Bearer {edge_token}", "HTTP_ACCEPT_LANGUAGE": "en"}
    base = f"/api/pathology/slides/{slide['id']}"
    dzi = client.get(f"{base}/slide.dzi", **auth)
    assert dzi.status_code == 200 and dzi.content.decode() == slides.descriptor(
        f"{payload['sha256']}"
    )
    thumbnail = client.get(f"{base}/thumbnail.jpeg", **auth)
    assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"
    offline = client.get(f"{base}/slide_files/11/0_0.jpeg", **auth)
    assert offline.status_code == 503 and offline.json()["error"] == "edge_offline"
    assert "not connected" in offline.json()["message"]
    outside = client.get(f"{base}/slide_files/11/9_0.jpeg", **auth)
    assert outside.status_code == 404 and "9 x 7" in outside.json()["message"]
    key_image = client.post(
        f"{base}/key-images",
        data={"x": 0, "y": 0, "width": 256, "height": 256},
        content_type="application/json",
        **auth,
    )
    assert key_image.status_code == 503
    asked = client.post(f"{base}/upload-now", **auth)
    assert asked.status_code == 202 and asked.json()["told"] is False
    assert Slide.objects.unscoped("test").get(pk=slide["id"]).upload_requested_at is not None


def test_registration_refusals(client, network, alice, charlie, team, case, svs: Path) -> None:
    payload = _announcement(case, svs)
    token = _token(network.county_a.code)
    other_county = _token(network.county_b.code)
    assert _register(client, other_county, payload).status_code == 404
    old_tiles = _register(client, token, {**payload, "tile_version": "v0-256-0-75"})
    assert old_tiles.status_code == 409 and "update the edge" in old_tiles.json()["message"]
    bad_thumb = {**payload, "thumbnail_base64": base64.b64encode(b"GIF89a....").decode()}
    assert _register(client, token, bad_thumb).status_code == 422
    too_big = {**payload, "deepzoom_width": 10**6}
    assert _register(client, token, too_big).status_code == 422
    nowhere = _register(client, token, {**payload, "case_number": "NO-SUCH-CASE"})
    assert nowhere.status_code == 404
    fields = {k: v for k, v in payload.items() if k != "thumbnail_base64"}
    announced = edge_services.EdgeRegistration(**fields, thumbnail=b"")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):  # a person is not an edge gateway
        edge_services.register_from_edge(alice, announced)
    assert not Slide.objects.unscoped("test").exists()


def _meta(**values: object) -> str:
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in values.items())


def _send(client: Client, token: str, case, slide_id: int, data: bytes, **extra: object):
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en", **TUS}
    meta = _meta(consultation=case.pk, filename="x.svs", slide=slide_id, **extra)
    created = client.post(
        "/pathology/tus/",
        headers={**auth, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
    )
    if created.status_code != 201:
        return created
    return client.patch(
        created["Location"],
        data=data,
        content_type="application/offset+octet-stream",
        headers={**auth, "Upload-Offset": "0"},
    )


def test_the_file_arrives_and_is_verified(
    client, team, case, svs: Path, generic: Path, edge_token: str
) -> None:
    first = _register(client, edge_token, _announcement(case, svs)).json()
    second = _register(client, edge_token, _announcement(case, generic)).json()
    data = svs.read_bytes()
    short = _send(client, edge_token, case, first["id"], data[:-1])
    assert short.status_code == 422 and "registered with" in short.json()["message"]
    wrong_sum = _send(client, edge_token, case, first["id"], data, sha256="0" * 64)
    assert wrong_sum.status_code == 422
    done = _send(client, edge_token, case, first["id"], data)
    assert done.status_code == 204 and done["X-Slide-Id"] == str(first["id"])
    arrived = Slide.objects.unscoped("test").get(pk=first["id"])
    assert arrived.state == SlideState.AVAILABLE and arrived.blob_id == arrived.sha256
    assert arrived.sha256 == hashlib.sha256(data).hexdigest()
    tile = client.get(
        f"/api/pathology/slides/{first['id']}/slide_files/11/0_0.jpeg",
        HTTP_AUTHORIZATION=f"Bearer {edge_token}",
    )
    assert tile.status_code == 200
    # Damaged on the way (same length, other bytes): failed, with the reason.
    damaged = bytearray(generic.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    refused = _send(client, edge_token, case, second["id"], bytes(damaged))
    assert refused.status_code == 422 and refused.json()["error"] == "digest_mismatch"
    failed = Slide.objects.unscoped("test").get(pk=second["id"])
    assert failed.state == SlideState.FAILED and "SHA-256" in failed.failure_reason
    assert failed.blob_id is None


@pytest.mark.django_db(transaction=True)
def test_the_socket_relays_a_tile(network, alice, svs: Path) -> None:
    from channels.routing import URLRouter

    from telemed.consultations.testing import build_team
    from telemed.core.realtime import websocket_urlpatterns
    from telemed.notifications.testing import WebsocketCommunicator, run_async
    from telemed.pathology import testing

    case = testing.pathology_draft(build_team(network, alice))
    token = _token(network.county_a.code)
    payload = _announcement(case, svs)
    slide_id = _register(Client(), token, payload).json()["id"]
    edge_user_id = Slide.objects.unscoped("test").get(pk=slide_id).uploaded_by_id
    assert edge_user_id is not None
    source = str(payload["sha256"])
    expected = slides.tile(source, 11, 1, 1)

    def socket(bearer: str) -> WebsocketCommunicator:
        return WebsocketCommunicator(
            URLRouter(websocket_urlpatterns),
            "/ws/edge/",
            headers=[(b"authorization", f"Bearer {bearer}".encode())],
        )

    async def scenario() -> None:
        import asyncio

        assert not (await socket("not-a-token").connect())[0]
        edge = socket(token)
        assert (await edge.connect())[0]
        assert relay.is_online(edge_user_id)
        asked = asyncio.create_task(relay._ask(edge_user_id, {"type": "tile", "level": 11}, 5))
        request = await edge.receive_json_from()
        assert request["type"] == "tile" and request["level"] == 11
        head = json.dumps({"id": request["id"], "status": 200}).encode()
        await edge.send_input({"type": "websocket.receive", "bytes": head + b"\n" + expected})
        answer = await asyncio.wait_for(asked, 5)
        assert answer["status"] == 200 and answer["body"] == expected
        await edge.disconnect()
        assert not relay.is_online(edge_user_id)

    run_async(scenario)
