"""DICOM ingest (issue 4): ``storescu`` pushes one generated CT series to three receivers,
one after the other, on loopback:

(a) ours: ``telemed dicom listen`` in its own process (each instance validated, streamed to
    the blob store and fsynced, then indexed, before its success status goes back);
(b) Orthanc from Debian (``orthanc``), started here with a generated configuration and its
    default SQLite index, ``SyncStorageArea`` on (it fsyncs too), stopped at the end;
(c) pynetdicom's bare example receiver (``python -m pynetdicom storescp``), which only
    writes files: the Python ceiling.

Figures: instances/s for each, ratios ours/Orthanc and ours/bare, and the peak resident
memory of our listener against its resident memory before the push (flat means the series
is streamed, never held whole). The issue asks for 500 slices of 512 x 512 x 16 bits; the
default here is ``BENCH_IMAGING_SLICES=100`` to keep a run short.

Then, with ours (``telemed serve``: web server and DICOM listener in one process) and Orthanc
(with its DICOMweb plugin) still running:

(d) QIDO-RS study search over ``BENCH_IMAGING_STUDIES`` one-instance studies pushed to both
    by storescu (the issue says 10,000; default 1,000): p50/p99 of exact patient ID,
    patient name wildcard and date range searches, ratios to Orthanc's DICOMweb;
(e) WADO-RS frame retrieval for the whole series (frame 1 of every instance): frames/s and
    the ratio to Orthanc.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SLICES = int(os.environ.get("BENCH_IMAGING_SLICES", "100"))
SIZE = int(os.environ.get("BENCH_IMAGING_SIZE", "512"))
STUDIES = int(os.environ.get("BENCH_IMAGING_STUDIES", "1000"))
QUERIES = int(os.environ.get("BENCH_IMAGING_QUERIES", "100"))
# Every wait is bounded: starting a receiver, one push, one HTTP request.
START_SECONDS = 90.0
PUSH_SECONDS = float(os.environ.get("BENCH_IMAGING_SECONDS", "600"))
HTTP_SECONDS = 60.0
CALLING_AE = "BENCH"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _series(directory: Path) -> int:
    import numpy as np
    from pydicom.uid import generate_uid

    from telemed.imaging.testing import ct_dataset, write

    study, series = generate_uid(), generate_uid()
    total = 0
    for index in range(SLICES):
        ds = ct_dataset(
            study_uid=study, series_uid=series, index=index + 1, rows=SIZE, columns=SIZE
        )
        pixels = (np.indices((SIZE, SIZE)).sum(axis=0) * (index + 1)) % 4096
        ds.PixelData = pixels.astype(np.uint16).tobytes()
        total += write(ds, directory / f"slice-{index:04d}.dcm").stat().st_size
    return total


def _studies(directory: Path) -> None:
    """One small instance per study: many patients, names and dates to search."""
    from pydicom.uid import generate_uid

    from telemed.imaging.testing import ct_dataset, write

    for n in range(STUDIES):
        ds = ct_dataset(
            study_uid=generate_uid(),
            series_uid=generate_uid(),
            patient_id=f"P{n:06d}",
            patient_name=f"Name{n % 97:02d}^Given{n}",
            rows=8,
            columns=8,
            StudyDate=f"2026{1 + n % 12:02d}{1 + n % 28:02d}",
        )
        write(ds, directory / f"study-{n:06d}.dcm")


def _wait_for_echo(port: int, called: str, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the {called} receiver exited with {process.returncode}")
        echo = subprocess.run(
            ["echoscu", "-aet", CALLING_AE, "-aec", called, "127.0.0.1", str(port)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if echo.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the {called} receiver did not answer C-ECHO in {START_SECONDS} s")


def _wait_for_http(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=5).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {START_SECONDS} s")


def _push(port: int, called: str, directory: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            *("storescu", "+sd", "-aet", CALLING_AE, "-aec", called),
            "127.0.0.1",
            str(port),
            str(directory),
        ],
        capture_output=True,
        timeout=PUSH_SECONDS,
        check=True,
    )
    return time.perf_counter() - start


def _memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])  # kB
    return fields


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@dataclass
class Server:
    """A running DICOM + DICOMweb server: its DICOM port and AE title, and its QIDO/WADO
    root with the headers a request needs."""

    process: subprocess.Popen[bytes]
    dicom_port: int
    ae_title: str
    root: str
    headers: dict[str, str]


def _bearer_token() -> str:
    import base64

    from django.test import Client

    from telemed.accounts.services import create_api_client

    created = create_api_client("BENCH_COUNTY")
    basic = base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode()
    response = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return str(response.json()["access_token"])


def _start_ours() -> Server:
    from telemed.dicom.models import RemoteNode
    from telemed.directory.models import Institution, Tier

    institution, _ = Institution.objects.get_or_create(
        code="BENCH_COUNTY", defaults={"name": "基准县医院", "tier": Tier.COUNTY_HOSPITAL}
    )
    RemoteNode.objects.get_or_create(
        ae_title=CALLING_AE, host=None, defaults={"institution": institution}
    )
    dicom_port, http_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "telemed.cli", "serve", "--port", str(http_port), "--no-jobs"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DICOM_PORT": str(dicom_port)},
    )
    headers = {"Authorization": f"Bearer {_bearer_token()}"}
    server = Server(
        process, dicom_port, "TELEMED", f"http://127.0.0.1:{http_port}/dicomweb", headers
    )
    _wait_for_echo(dicom_port, "TELEMED", process)
    _wait_for_http(f"{server.root}/studies?limit=1", headers)
    return server


def _start_orthanc(workdir: Path) -> Server | None:
    if shutil.which("Orthanc") is None:
        return None
    dicom_port, http_port = _free_port(), _free_port()
    storage = workdir / "orthanc"
    config = workdir / "orthanc.json"
    plugin = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
    config.write_text(
        json.dumps(
            {
                "Name": "bench",
                "StorageDirectory": str(storage),
                "IndexDirectory": str(storage),
                "StorageCompression": False,
                "SyncStorageArea": True,
                "DicomAet": "ORTHANC",
                "DicomPort": dicom_port,
                "HttpPort": http_port,
                "RemoteAccessAllowed": False,
                "AuthenticationEnabled": False,
                # Debian's Orthanc 1.10 has no bind-address option: only the benchmark's
                # own caller, from loopback, may store or echo.
                "DicomAlwaysAllowStore": False,
                "DicomAlwaysAllowEcho": False,
                "DicomCheckModalityHost": True,
                "DicomModalities": {"bench": [CALLING_AE, "127.0.0.1", 104]},
                "Plugins": [str(plugin)] if plugin.exists() else [],
                "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            }
        )
    )
    process = subprocess.Popen(
        ["Orthanc", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = Server(process, dicom_port, "ORTHANC", f"http://127.0.0.1:{http_port}/dicom-web", {})
    _wait_for_echo(dicom_port, "ORTHANC", process)
    return server


def _ingest(server: Server, directory: Path) -> dict[str, Any]:
    before = _memory(server.process.pid)
    seconds = _push(server.dicom_port, server.ae_title, directory)
    after = _memory(server.process.pid)
    result: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "instances_per_s": round(SLICES / seconds, 1),
    }
    if server.ae_title == "TELEMED":
        result.update(
            rss_before_kib=before["VmRSS"],
            rss_peak_kib=after["VmHWM"],
            rss_growth_kib=after["VmHWM"] - before["VmRSS"],
        )
    return result


def _bare(directory: Path, workdir: Path) -> dict[str, Any]:
    port = _free_port()
    output = workdir / "storescp"
    output.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pynetdicom",
            "storescp",
            str(port),
            "-ba",
            "127.0.0.1",
            "-aet",
            "STORESCP",
            "-od",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_echo(port, "STORESCP", process)
        seconds = _push(port, "STORESCP", directory)
    finally:
        _stop(process)
    stored = len(list(output.iterdir()))
    return {
        "seconds": round(seconds, 3),
        "instances": stored,
        "instances_per_s": round(SLICES / seconds, 1),
    }


QIDO_SEARCHES = {
    "patient_id": lambda n: {"PatientID": f"P{(n * 7919) % STUDIES:06d}"},
    "name_wildcard": lambda n: {"PatientName": f"Name{n % 97:02d}*", "limit": "50"},
    "date_range": lambda n: {
        "StudyDate": f"2026{1 + n % 12:02d}01-2026{1 + n % 12:02d}10",
        "limit": "50",
    },
}


def _qido(server: Server) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with requests.Session() as session:
        session.headers.update(server.headers)
        session.headers["Accept"] = "application/dicom+json"
        for name, params in QIDO_SEARCHES.items():
            timings = []
            found = 0
            for n in range(QUERIES):
                start = time.perf_counter()
                response = session.get(
                    f"{server.root}/studies", params=params(n), timeout=HTTP_SECONDS
                )
                timings.append(time.perf_counter() - start)
                response.raise_for_status()
                found += len(response.json()) if response.content else 0
            timings.sort()
            figures[name] = {
                "p50_ms": round(statistics.median(timings) * 1000, 2),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000, 2),
                "results_per_query": round(found / QUERIES, 1),
            }
    return figures


def _wado_frames(server: Server) -> dict[str, Any]:
    with requests.Session() as session:
        session.headers.update(server.headers)
        listed = session.get(
            f"{server.root}/instances",
            params={"PatientID": "A-0001", "limit": str(SLICES)},
            headers={"Accept": "application/dicom+json"},
            timeout=HTTP_SECONDS,
        )
        listed.raise_for_status()
        targets = [
            (i["0020000D"]["Value"][0], i["0020000E"]["Value"][0], i["00080018"]["Value"][0])
            for i in listed.json()
        ]
        start = time.perf_counter()
        received = 0
        for study, series, instance in targets:
            response = session.get(
                f"{server.root}/studies/{study}/series/{series}/instances/{instance}/frames/1",
                headers={"Accept": 'multipart/related; type="application/octet-stream"'},
                timeout=HTTP_SECONDS,
            )
            response.raise_for_status()
            received += len(response.content)
        seconds = time.perf_counter() - start
    return {
        "frames": len(targets),
        "seconds": round(seconds, 3),
        "frames_per_s": round(len(targets) / seconds, 1) if seconds else None,
        "mib_per_s": round(received / 1024**2 / seconds, 1) if seconds else None,
    }


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours and theirs else None


def run() -> dict[str, Any]:
    if shutil.which("storescu") is None:
        return {"skipped": "dcmtk is not installed (apt-get install -y dcmtk)"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-imaging-"))
    servers: list[Server] = []
    try:
        series, studies = workdir / "series", workdir / "studies"
        series.mkdir()
        studies.mkdir()
        size = _series(series)
        _studies(studies)
        ours = _start_ours()
        servers.append(ours)
        orthanc = _start_orthanc(workdir)
        if orthanc is not None:
            servers.append(orthanc)
        ingest = {"ours": _ingest(ours, series)}
        if orthanc is not None:
            ingest["orthanc"] = _ingest(orthanc, series)
        ingest["bare"] = _bare(series, workdir)
        populate = {s.ae_title: round(_push(s.dicom_port, s.ae_title, studies), 1) for s in servers}
        qido = {s.ae_title: _qido(s) for s in servers}
        wado = {s.ae_title: _wado_frames(s) for s in servers}
    finally:
        for server in servers:
            _stop(server.process)
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, Any] = {
        "slices": SLICES,
        "matrix": f"{SIZE}x{SIZE}x16",
        "series_mib": round(size / 1024**2, 1),
        "ingest": ingest,
        "ingest_ours_over_orthanc": _ratio(
            ingest["ours"]["instances_per_s"], ingest.get("orthanc", {}).get("instances_per_s")
        ),
        "ingest_ours_over_bare": _ratio(
            ingest["ours"]["instances_per_s"], ingest["bare"]["instances_per_s"]
        ),
        "qido_studies": STUDIES,
        "qido_populate_seconds": populate,
        "qido": qido,
        "wado_frames": wado,
    }
    if "ORTHANC" in qido:
        figures["qido_p50_orthanc_over_ours"] = {
            name: _ratio(qido["ORTHANC"][name]["p50_ms"], qido["TELEMED"][name]["p50_ms"])
            for name in QIDO_SEARCHES
        }
        figures["wado_frames_ours_over_orthanc"] = _ratio(
            wado["TELEMED"]["frames_per_s"], wado["ORTHANC"]["frames_per_s"]
        )
    return figures
