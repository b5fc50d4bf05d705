"""DeepZoom tiles (issue 5): ours against IIPImage, side by side, on loopback.

One generated pyramidal TIFF (``BENCH_PATHOLOGY_SIZE``, default 8192x6144, JPEG tiles of
256) is served by

(a) ours: ``telemed serve`` in its own process (one uvicorn process, as ``make run``), the
    slide registered on a pathology case, opened with a bearer token; its tiles with the
    tile token the opening handed out (the ASGI fast path: HMAC check, a per-process memory
    of tiles, the Django cache, OpenSlide + DeepZoomGenerator); then
    the same application under uvicorn with as many worker processes as iipsrv gets;
(b) IIPImage from Debian (``iipimage-server``) behind lighttpd's FastCGI (``lighttpd``),
    both started here with generated configurations, as many iipsrv processes as cores
    (``BENCH_PATHOLOGY_IIP_PROCESSES``; 1 compares one process with one).

``BENCH_PATHOLOGY_TILES`` distinct tiles of the full-resolution level (default 400) are
fetched by ``BENCH_PATHOLOGY_CLIENTS`` concurrent clients (default 16): once right after the
server started (cold: nothing cached), then again (warm). Figures: tiles/s and p50/p99 per
tile for each, and the ratios ours/IIPImage (tiles/s). Then the slide is sent once more
through the hub's tus endpoint by the edge's uploader under ``BENCH_PATHOLOGY_UPLOAD_CAP``
bytes/s (default 8 MiB/s): the throughput as a fraction of the cap.

Last, the edge relay: ``telemed edge`` in its own process (own var dir and SQLite database)
reaches that hub through a throttled link (``BENCH_PATHOLOGY_LINK_MBIT``, default 10 Mbit/s
each way, and ``BENCH_PATHOLOGY_LINK_MS``, default 50 ms one way: a user-space proxy,
``bench/_throttle.py``, so the shared machine's interfaces are left alone). A second slide
of the same size is dropped in its folder; once registered, the first screenful (the
DeepZoom level of about 20 tiles that a viewer shows first), none of it cached anywhere, is
fetched through the hub by 6 clients (a browser's connections per host) and timed, beside
the same tiles of the hub's own copy (cold). Every request has a timeout and every run a
bounded count of requests.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench._common import summary_ms
from bench._throttle import ThrottledLink

SIZE = os.environ.get("BENCH_PATHOLOGY_SIZE", "8192x6144")
TILES = int(os.environ.get("BENCH_PATHOLOGY_TILES", "400"))
CLIENTS = int(os.environ.get("BENCH_PATHOLOGY_CLIENTS", "16"))
UPLOAD_CAP = float(os.environ.get("BENCH_PATHOLOGY_UPLOAD_CAP", str(8 * 1024 * 1024)))
START_SECONDS = 60.0
HTTP_SECONDS = 30.0
IIPSRV = "/usr/lib/iipimage-server/iipsrv.fcgi"
# iipsrv processes behind lighttpd; ours is the one process of ``telemed serve``.
IIP_PROCESSES = int(os.environ.get("BENCH_PATHOLOGY_IIP_PROCESSES", str(os.cpu_count() or 1)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    dzi_url: str
    tile_url: str  # with {level}, {col}, {row}
    headers: dict[str, str] = field(default_factory=dict)
    # Ours: the slide's details (an audited read), whose tile token goes on every tile URL,
    # as a DeepZoom viewer carries the descriptor URL's query over to its tiles.
    slide_url: str | None = None

    def with_token(self) -> None:
        if self.slide_url is None:
            return
        answer = requests.get(self.slide_url, headers=self.headers, timeout=HTTP_SECONDS)
        token = answer.json()["tile_token"]
        if not token:
            raise RuntimeError(f"{self.slide_url} handed out no tile token")
        self.tile_url = self.tile_url.split("?")[0] + f"?tt={token}"


def _wait_for(url: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            answer = requests.get(url, headers=headers, timeout=5)
            if answer.status_code == 200:
                return answer.text
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {START_SECONDS} s")


def _slide_on_a_case(path: Path) -> tuple[int, str]:
    """Register the slide on a pathology case; return its id and a bearer token of the
    requesting hospital's API client (which sees the hospital's slides)."""
    import base64

    from django.test import Client

    from telemed.accounts.services import create_api_client
    from telemed.consultations.testing import build_team
    from telemed.pathology import testing
    from telemed.testing import build_network, make_user

    network = build_network()
    team = build_team(network, make_user("bench_doctor", "requesting_doctor", network.county_a))
    slide = testing.upload(team.requester, testing.pathology_draft(team), path)
    created = create_api_client(network.county_a.code)
    basic = base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode()
    answer = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return slide.pk, str(answer.json()["access_token"])


def _start_ours(slide_id: int, token: str, workers: int = 0) -> Server:
    """``telemed serve`` (one process), or with ``workers`` uvicorn's worker processes on
    the same ASGI application (the scaled-out shape, each with its own tile cache here)."""
    port = _free_port()
    if workers:
        command = [sys.executable, "-m", "uvicorn", "telemed.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        command += ["--lifespan", "off", "--log-level", "warning"]
    else:
        command = [sys.executable, "-m", "telemed.cli", "serve", "--port", str(port), "--no-jobs"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DICOM_PORT": str(_free_port()), "MLLP_PORT": str(_free_port())},
    )
    base = f"http://127.0.0.1:{port}/api/pathology/slides/{slide_id}"
    return Server(
        f"ours_{workers}_workers" if workers else "ours",
        process,
        f"{base}/slide.dzi",
        base + "/slide_files/{level}/{col}_{row}.jpeg",
        {"Authorization": f"Bearer {token}"},
        base,
    )


def _start_iipimage(path: Path, workdir: Path) -> Server | None:
    if not (Path(IIPSRV).exists() and shutil.which("lighttpd")):
        return None
    port = _free_port()
    config = workdir / "lighttpd.conf"
    config.write_text(
        f"""server.modules = ("mod_fastcgi")
server.document-root = "{workdir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{workdir}/lighttpd-error.log"
fastcgi.server = ("/fcgi-bin/iipsrv.fcgi" => ((
  "socket" => "{workdir}/iipsrv.sock",
  "check-local" => "disable",
  "min-procs" => {IIP_PROCESSES},
  "max-procs" => {IIP_PROCESSES},
  "bin-path" => "{IIPSRV}",
  "bin-environment" => (
    "FILESYSTEM_PREFIX" => "{path.parent}/",
    "VERBOSITY" => "0",
    "JPEG_QUALITY" => "80",
    "MAX_IMAGE_CACHE_SIZE" => "64"
  )
)))
"""
    )
    process = subprocess.Popen(
        ["lighttpd", "-D", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/fcgi-bin/iipsrv.fcgi?DeepZoom={path.name}"
    return Server("iipimage", process, f"{base}.dzi", base + "_files/{level}/{col}_{row}.jpg")


def _grid(descriptor: str) -> tuple[int, int, int]:
    """(top level, columns, rows) of the full-resolution level from a DZI descriptor."""
    number = {
        key: int(re.search(rf'{key}="(\d+)"', descriptor).group(1))  # type: ignore[union-attr]
        for key in ("TileSize", "Width", "Height")
    }
    top = math.ceil(math.log2(max(number["Width"], number["Height"])))
    return (
        top,
        math.ceil(number["Width"] / number["TileSize"]),
        math.ceil(number["Height"] / number["TileSize"]),
    )


def _fetch_all(server: Server, urls: list[str]) -> dict[str, Any]:
    local = threading.local()
    failures = []

    def one(url: str) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(server.headers)
        start = time.perf_counter()
        answer = session.get(url, timeout=HTTP_SECONDS)
        elapsed = (time.perf_counter() - start) * 1000
        if answer.status_code != 200 or not answer.content.startswith(b"\xff\xd8"):
            failures.append(answer.status_code)
        return elapsed

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = list(pool.map(one, urls))
    seconds = time.perf_counter() - start
    return {
        **summary_ms(latencies),
        "tiles_per_s": round(len(urls) / seconds, 1),
        "failures": len(failures),
    }


def _measure(server: Server) -> dict[str, Any]:
    descriptor = _wait_for(server.dzi_url, server.headers, server.process)
    server.with_token()
    top, columns, rows = _grid(descriptor)
    addresses = [(col, row) for row in range(rows) for col in range(columns)][:TILES]
    urls = [server.tile_url.format(level=top, col=c, row=r) for c, r in addresses]
    cold = _fetch_all(server, urls)
    warm = _fetch_all(server, urls)
    return {"level": top, "tiles": len(urls), "cold": cold, "warm": warm}


def _upload(server: Server, path: Path, workdir: Path) -> dict[str, Any]:
    """The slide sent again through the hub's tus endpoint under ``UPLOAD_CAP`` bytes/s
    (the edge's uploader), on its own case; throughput against the cap."""
    from telemed.consultations.models import Consultation
    from telemed.pathology.uploader import SlideUploader

    case = Consultation.objects.unscoped("bench: the case the first slide is on").get(
        kind="pathology"
    )
    copy = workdir / "again.tif"
    # One byte more, so that the hub takes it as a new file (the same one is refused twice).
    copy.write_bytes(path.read_bytes() + b"\x00")
    root = server.dzi_url.split("/api/")[0]
    uploader = SlideUploader(
        hub=root,
        headers=server.headers,
        path=copy,
        consultation_id=case.pk,
        state_file=workdir / "upload.json",
        rate=UPLOAD_CAP,
    )
    start = time.perf_counter()
    done = uploader.run()
    seconds = time.perf_counter() - start
    size = copy.stat().st_size
    return {
        "done": done,
        "mib": round(size / 1024**2, 1),
        "cap_mib_per_s": round(UPLOAD_CAP / 1024**2, 2),
        "mib_per_s": round(size / seconds / 1024**2, 2),
        "of_cap": round(size / seconds / UPLOAD_CAP, 3),
    }


LINK_RATE = float(os.environ.get("BENCH_PATHOLOGY_LINK_MBIT", "10")) * 1e6 / 8
LINK_DELAY = float(os.environ.get("BENCH_PATHOLOGY_LINK_MS", "50")) / 1000
SCREEN_TILES = 24  # the largest level with at most this many tiles is the first screenful
SCREEN_CLIENTS = 6


def _screenful(urls: list[str], headers: dict[str, str]) -> dict[str, Any]:
    def one(url: str) -> float:
        start = time.perf_counter()
        answer = requests.get(url, headers=headers, timeout=HTTP_SECONDS)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:200]}")
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(SCREEN_CLIENTS) as pool:
        latencies = list(pool.map(one, urls))
    return {"tiles": len(urls), "seconds": round(time.perf_counter() - start, 3)} | summary_ms(
        latencies
    )


def _edge_env(workdir: Path, hub_url: str, client_id: str, secret: str) -> dict[str, str]:
    import datetime as dt

    later = dt.datetime.now() + dt.timedelta(hours=6)  # no upload competes for the link
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return env | {
        "TELEMED_VAR_DIR": str(workdir / "edge"),
        "DATABASE_URL": f"sqlite:///{workdir / 'edge' / 'telemed.sqlite3'}",
        "TELEMED_ROLE": "edge",
        "EDGE_HUB_URL": hub_url,
        "EDGE_CLIENT_ID": client_id,
        "EDGE_CLIENT_SECRET": secret,
        "EDGE_WATCH_DIR": str(workdir / "inbox"),
        "EDGE_UPLOAD_WINDOW": f"{later:%H:%M}-{later + dt.timedelta(hours=1):%H:%M}",
        "EDGE_POLL_SECONDS": "1",
    }


def _edge_relay(hub: Server, width: int, height: int, workdir: Path) -> dict[str, Any]:
    """The first screenful of a slide still at the edge, through the throttled link."""
    from telemed.accounts.services import create_api_client
    from telemed.consultations.models import Consultation
    from telemed.pathology import slides, testing

    case = (
        Consultation.objects.unscoped("bench: the case the slides go on")
        .select_related("requesting_institution")
        .get(kind="pathology")
    )
    client = create_api_client(case.requesting_institution.code, "bench edge")
    root = hub.dzi_url.split("/api/")[0]
    link = ThrottledLink(int(root.rsplit(":", 1)[1]), rate=LINK_RATE, delay=LINK_DELAY)
    link.start()
    env = _edge_env(
        workdir, f"http://127.0.0.1:{link.port}", client.client_id, client.client_secret
    )
    (workdir / "edge").mkdir()
    subprocess.run(
        [sys.executable, "-m", "telemed.cli", "migrate", "-v0"],
        env=env,
        check=True,
        timeout=900,
        capture_output=True,
    )
    edge = subprocess.Popen(
        [sys.executable, "-m", "telemed.cli", "edge", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        written = testing.generic_tiff(workdir / "edge.tif", width, height, seed=11)
        folder = workdir / "inbox" / case.number
        folder.mkdir(parents=True)
        dropped = time.perf_counter()
        written.rename(folder / "edge.tif")  # whole at once: the edge never sees it half written
        found: dict[str, Any] | None = None
        deadline = time.monotonic() + 300
        while found is None and time.monotonic() < deadline:
            answer = requests.get(
                f"{root}/api/pathology/consultations/{case.pk}/slides",
                headers=hub.headers,
                timeout=HTTP_SECONDS,
            )
            found = next(
                (s for s in answer.json() if s["name"] == "edge.tif" and s["edge_online"]), None
            )
            time.sleep(0.2)
        if found is None:
            raise RuntimeError("the edge did not register the slide within 300 s")
        registered_s = time.perf_counter() - dropped
        tiles = slides.deepzoom_tiles(width, height)
        level = max(i for i, (c, r) in enumerate(tiles) if c * r <= SCREEN_TILES)
        cols, rows = tiles[level]
        addresses = [(level, c, r) for r in range(rows) for c in range(cols)]
        relay_base = f"{root}/api/pathology/slides/{found['id']}/slide_files"
        relayed = _screenful(
            [f"{relay_base}/{lv}/{c}_{r}.jpeg" for lv, c, r in addresses], hub.headers
        )
        again = _screenful(
            [f"{relay_base}/{lv}/{c}_{r}.jpeg" for lv, c, r in addresses], hub.headers
        )
        direct = _screenful(
            [hub.tile_url.format(level=lv, col=c, row=r) for lv, c, r in addresses], hub.headers
        )
    finally:
        _stop(edge)
        link.stop()
    return {
        "link": f"{LINK_RATE * 8 / 1e6:g} Mbit/s each way, {LINK_DELAY * 1000:g} ms one way "
        "(user-space proxy)",
        "level": level,
        "drop_to_registered_s": round(registered_s, 2),
        "first_screen_through_edge_cold": relayed,
        "first_screen_through_edge_cached_at_hub": again,
        "first_screen_hub_own_copy_cold": direct,
        "goal_under_2_s": relayed["seconds"] < 2.0,
    }


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours and theirs else None


def run() -> dict[str, Any]:
    from telemed.pathology import testing

    width, height = (int(n) for n in SIZE.split("x"))
    workdir = Path(tempfile.mkdtemp(prefix="bench-pathology-"))
    servers: list[Server] = []
    results: dict[str, Any] = {}
    try:
        slide = testing.generic_tiff(workdir / "slide.tif", width, height)
        slide_id, token = _slide_on_a_case(slide)
        for workers in (0, IIP_PROCESSES):
            ours = _start_ours(slide_id, token, workers)
            servers.append(ours)
            results[ours.name] = _measure(ours)
            if not workers:
                results["upload_through_tus"] = _upload(ours, slide, workdir)
                # One process: the edge's connection and the views share its channel layer.
                results["edge_relay"] = _edge_relay(ours, width, height, workdir)
            _stop(ours.process)
            servers.remove(ours)
        peer = _start_iipimage(slide, workdir)
        if peer is not None:
            servers.append(peer)
            results["iipimage"] = _measure(peer)
    finally:
        for server in servers:
            _stop(server.process)
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, Any] = {
        "slide": f"{width}x{height} generic tiled TIFF, JPEG, 256 tiles",
        "clients": CLIENTS,
        "iipsrv_processes": IIP_PROCESSES,
        **results,
    }
    if "iipimage" in results:
        for name in [n for n in results if n.startswith("ours")]:  # tile servers
            for phase in ("cold", "warm"):
                figures[f"{phase}_tiles_per_s_{name}_over_iipimage"] = _ratio(
                    results[name][phase]["tiles_per_s"], results["iipimage"][phase]["tiles_per_s"]
                )
    else:
        figures["iipimage"] = "skipped: apt-get install -y iipimage-server lighttpd"
    return figures
