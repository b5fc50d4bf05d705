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
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

SLICES = int(os.environ.get("BENCH_IMAGING_SLICES", "100"))
SIZE = int(os.environ.get("BENCH_IMAGING_SIZE", "512"))
# Every wait is bounded: starting a receiver, and one push.
START_SECONDS = 60.0
PUSH_SECONDS = float(os.environ.get("BENCH_IMAGING_SECONDS", "600"))
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


def _push(port: int, called: str, directory: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            "storescu",
            "+sd",
            "-aet",
            CALLING_AE,
            "-aec",
            called,
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


def _ours(directory: Path) -> dict[str, Any]:
    from telemed.dicom.models import RemoteNode
    from telemed.directory.models import Institution, Tier
    from telemed.imaging.models import ImagingInstance

    institution, _ = Institution.objects.get_or_create(
        code="BENCH_COUNTY", defaults={"name": "基准县医院", "tier": Tier.COUNTY_HOSPITAL}
    )
    RemoteNode.objects.get_or_create(
        ae_title=CALLING_AE, host=None, defaults={"institution": institution}
    )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "telemed.cli", "dicom", "listen", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        _wait_for_echo(port, "TELEMED", process)
        before = _memory(process.pid)
        seconds = _push(port, "TELEMED", directory)
        after = _memory(process.pid)
    finally:
        _stop(process)
    stored = ImagingInstance.objects.unscoped("benchmark count").count()
    return {
        "seconds": round(seconds, 3),
        "instances": stored,
        "rss_before_kib": before["VmRSS"],
        "rss_peak_kib": after["VmHWM"],
        "rss_growth_kib": after["VmHWM"] - before["VmRSS"],
    }


def _orthanc(directory: Path, workdir: Path) -> dict[str, Any]:
    if shutil.which("Orthanc") is None:
        return {"skipped": "Orthanc is not installed (apt-get install -y orthanc)"}
    dicom_port, http_port = _free_port(), _free_port()
    storage = workdir / "orthanc"
    config = workdir / "orthanc.json"
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
                "Plugins": [],
            }
        )
    )
    process = subprocess.Popen(
        ["Orthanc", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_echo(dicom_port, "ORTHANC", process)
        seconds = _push(dicom_port, "ORTHANC", directory)
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/statistics", timeout=30) as r:
            count = json.loads(r.read())["CountInstances"]
    finally:
        _stop(process)
    return {"seconds": round(seconds, 3), "instances": count, "version": _orthanc_version()}


def _orthanc_version() -> str:
    out = subprocess.run(["Orthanc", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else ""


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
    return {"seconds": round(seconds, 3), "instances": len(list(output.iterdir()))}


def run() -> dict[str, Any]:
    if shutil.which("storescu") is None:
        return {"skipped": "dcmtk is not installed (apt-get install -y dcmtk)"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-imaging-"))
    try:
        series = workdir / "series"
        series.mkdir()
        size = _series(series)
        results = {
            "ours": _ours(series),
            "orthanc": _orthanc(series, workdir),
            "bare": _bare(series, workdir),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, Any] = {
        "slices": SLICES,
        "matrix": f"{SIZE}x{SIZE}x16",
        "series_mib": round(size / 1024**2, 1),
        **results,
    }
    for result in results.values():
        if "seconds" in result:
            result["instances_per_s"] = round(SLICES / result["seconds"], 1)
    ours = results["ours"].get("instances_per_s")
    for peer in ("orthanc", "bare"):
        theirs = results[peer].get("instances_per_s")
        if ours and theirs:
            figures[f"ours_over_{peer}"] = round(ours / theirs, 2)
    return figures
