"""A hub and an edge gateway as two processes on loopback, each with its own var dir and
SQLite database: a slide dropped at the edge is registered at once and viewed through the
hub before any of its file moved (the tiles are OpenSlide's at the edge, byte for byte);
"upload now" starts the upload outside the edge's window under a low cap; the edge is
killed halfway and restarted, and resumes from the hub's offset; the hub verifies the file
and serves the tiles from its own copy with the edge stopped. A file damaged at the edge
after registration ends failed, with the reason. Every wait is bounded."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openslide
import pytest
import requests
from openslide.deepzoom import DeepZoomGenerator

from telemed.pathology import slides, testing

ROOT = Path(__file__).resolve().parents[3]
WAIT = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(var: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        TELEMED_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'telemed.sqlite3'}",
        DJANGO_SETTINGS_MODULE="telemed.settings",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _telemed(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "telemed.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _until(what: str, check: Callable[[], Any], seconds: float = WAIT) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


class Process:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "telemed.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=20)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for each in started:
        each.stop(signal.SIGKILL)


def _expected_tile(path: Path, level: int, col: int, row: int) -> bytes:
    """The tile as OpenSlide renders it from the file (our tile parameters and JPEG)."""
    deepzoom = DeepZoomGenerator(
        openslide.OpenSlide(str(path)), slides.TILE_SIZE, slides.OVERLAP, limit_bounds=True
    )
    return slides._jpeg(deepzoom.get_tile(level, (col, row)))


def _dzi(path: Path) -> str:
    deepzoom = DeepZoomGenerator(
        openslide.OpenSlide(str(path)), slides.TILE_SIZE, slides.OVERLAP, limit_bounds=True
    )
    return deepzoom.get_dzi(slides.TILE_FORMAT)


def test_hub_and_edge_on_loopback(tmp_path: Path, processes: list[Process]) -> None:
    hub_var, edge_var, inbox = tmp_path / "hub", tmp_path / "edge", tmp_path / "inbox"
    for folder in (hub_var, edge_var, inbox):
        folder.mkdir()
    original = testing.aperio_svs(tmp_path / "breast.svs", 2048, 1536)
    damaged_later = testing.generic_tiff(tmp_path / "second.tif", 1024, 768)
    size = original.stat().st_size

    hub_env = _env(hub_var)
    _telemed(hub_env, "migrate", "-v0")
    # The edge's database starts as the same empty schema (one package): a copy of the
    # freshly migrated file, taken before the hub has any data, saves a second migration.
    for suffix in ("", "-wal"):
        fresh = hub_var / f"telemed.sqlite3{suffix}"
        if fresh.exists():
            shutil.copy(fresh, edge_var / fresh.name)
    setup = (
        "import django, json; django.setup(); "
        "from telemed.pathology.testing import hub_for_edge; print(json.dumps(hub_for_edge()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", setup],
        env=hub_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    hub_data = json.loads(done.stdout.strip().splitlines()[-1])
    port = _free_port()
    hub_url = f"http://127.0.0.1:{port}"
    processes.append(
        Process(
            hub_env,
            tmp_path / "hub.log",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-jobs",
            "--no-listeners",
        )
    )
    http = requests.Session()
    http.trust_env = False
    http.headers["Accept-Language"] = "en"

    def hub_up() -> bool:
        try:
            return http.get(f"{hub_url}/healthz", timeout=2).status_code < 500
        except requests.ConnectionError:
            return False

    _until("the hub to listen", hub_up)
    token = http.post(
        f"{hub_url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(hub_data["client_id"], hub_data["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    api = f"{hub_url}/api/pathology"

    # The edge: its upload window is hours away, so nothing moves until someone asks.
    later = dt.datetime.now() + dt.timedelta(hours=3)
    edge_env = _env(
        edge_var,
        TELEMED_ROLE="edge",
        EDGE_HUB_URL=hub_url,
        EDGE_CLIENT_ID=str(hub_data["client_id"]),
        EDGE_CLIENT_SECRET=str(hub_data["client_secret"]),
        EDGE_WATCH_DIR=str(inbox),
        EDGE_UPLOAD_WINDOW=f"{later:%H:%M}-{later + dt.timedelta(hours=1):%H:%M}",
        EDGE_UPLOAD_RATE=str(size // 8),  # about eight seconds for the whole file
        EDGE_POLL_SECONDS="1",
    )

    def start_edge() -> Process:
        edge = Process(edge_env, tmp_path / "edge.log", "edge", "run")
        processes.append(edge)
        return edge

    edge = start_edge()
    case_folder = inbox / str(hub_data["case_number"])
    case_folder.mkdir()
    shutil.copy(original, case_folder / "breast.svs")

    def slides_of_case() -> list[dict[str, Any]]:
        answer = http.get(f"{api}/consultations/{hub_data['case_id']}/slides", timeout=10)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def slide_named(name: str) -> Callable[[], dict[str, Any] | None]:
        return lambda: next((s for s in slides_of_case() if s["name"] == name), None)

    slide = _until("the slide to be registered", slide_named("breast.svs"))
    assert slide["state"] == "registered" and slide["at_edge"] is True
    assert slide["size"] == size and slide["vendor"] == "aperio" and slide["mpp_x"] == 0.25
    assert not (case_folder / "breast.svs").exists()  # taken into the edge's store
    slide_url = f"{api}/slides/{slide['id']}"
    _until("the edge to connect", lambda: http.get(slide_url, timeout=10).json()["edge_online"])

    # Viewed through the hub before any byte of the file moved.
    dzi = http.get(f"{slide_url}/slide.dzi", timeout=10)
    assert dzi.status_code == 200 and dzi.text == _dzi(original)
    addresses = [(11, 0, 0), (11, 7, 5), (10, 3, 2)]  # 11: full resolution
    for level, col, row in addresses:
        tile = http.get(f"{slide_url}/slide_files/{level}/{col}_{row}.jpeg", timeout=15)
        assert tile.status_code == 200, tile.text
        assert tile.content == _expected_tile(original, level, col, row)
    assert http.get(f"{slide_url}/thumbnail.jpeg", timeout=10).status_code == 200
    outside = http.get(f"{slide_url}/slide_files/11/99_0.jpeg", timeout=10)
    assert outside.status_code == 404 and "outside" in outside.json()["message"]
    assert slide_named("breast.svs")()["received_bytes"] == 0  # type: ignore[index]

    # "Upload now", and the edge killed halfway.
    asked = http.post(f"{slide_url}/upload-now", timeout=10)
    assert asked.status_code == 202 and asked.json()["told"] is True
    received = _until(
        "a part of the file to arrive",
        lambda: (
            (got := http.get(slide_url, timeout=10).json()["received_bytes"]) >= size // 4 and got
        ),
    )
    edge.stop(signal.SIGKILL)
    assert received < size
    assert http.get(slide_url, timeout=10).json()["state"] == "registered"
    _until(
        "the hub to see the edge gone",
        lambda: not http.get(slide_url, timeout=10).json()["edge_online"],
    )
    offline = http.get(f"{slide_url}/slide_files/11/1_1.jpeg", timeout=15)
    assert offline.status_code == 503 and offline.json()["error"] == "edge_offline"
    assert offline.json()["message"]
    cached = http.get(f"{slide_url}/slide_files/11/0_0.jpeg", timeout=10)
    assert cached.status_code == 200  # what crossed the link once is the hub's to serve

    # Restarted: it resumes where the hub's copy stops, and the hub verifies the whole.
    edge = start_edge()
    arrived = _until(
        "the file to arrive and verify",
        lambda: (s := http.get(slide_url, timeout=10).json())["state"] != "registered" and s,
        seconds=90,
    )
    assert arrived["state"] == "available" and arrived["at_edge"] is False

    # A file damaged at the edge after it was registered: the hub's check finds it.
    shutil.copy(damaged_later, case_folder / "second.tif")
    second = _until("the second slide to be registered", slide_named("second.tif"))
    stored = next(p for p in (edge_var / "blobs").rglob(second["sha256"]) if p.is_file())
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    assert http.post(f"{api}/slides/{second['id']}/upload-now", timeout=10).status_code == 202
    failed = _until(
        "the damaged file to be refused",
        lambda: (s := slide_named("second.tif")())["state"] == "failed" and s,  # type: ignore[index]
        seconds=90,
    )
    assert "SHA-256" in failed["failure_reason"]
    refused = http.get(f"{api}/slides/{second['id']}/slide_files/10/0_0.jpeg", timeout=10)
    assert refused.status_code == 409 and "SHA-256" in refused.json()["message"]

    edge.stop()
    rows = {
        row["name"]: row
        for row in map(json.loads, _telemed(edge_env, "edge", "status").splitlines())
    }
    first = rows["breast.svs"]
    assert first["state"] == "uploaded"
    assert first["resumed_from"] > 0 and first["sent_bytes"] == size - first["resumed_from"]
    assert first["sent_bytes"] < size  # the restart did not send again what had arrived
    assert rows["second.tif"]["state"] == "failed" and "SHA-256" in rows["second.tif"]["reason"]

    # The edge is stopped: tiles never asked before come from the hub's own copy.
    for level, col, row in [(11, 1, 1), (11, 6, 4), (9, 1, 0)]:
        tile = http.get(f"{slide_url}/slide_files/{level}/{col}_{row}.jpeg", timeout=15)
        assert tile.status_code == 200, tile.text
        assert tile.content == _expected_tile(original, level, col, row)
    assert http.get(f"{slide_url}/slide.dzi", timeout=10).text == _dzi(original)
