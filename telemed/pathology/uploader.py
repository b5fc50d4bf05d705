"""The sending side of a tus upload: what the edge gateway (and a hospital's own tool) runs
to move a slide file to the hub in its idle hours.

``SlideUploader`` creates the upload once (its address is kept in a small state file beside
nothing but itself), then sends the file in chunks from the offset the hub reports, so a
dropped link or a restart resumes without re-sending completed chunks. The pace stays under
``rate`` bytes per second (a token bucket checked before each piece), and sending happens
only inside the configured window (``"20:00-07:00"``: overnight). The SHA-256 is announced
at creation, so the hub verifies the file before registering it.

Time and sleeping are injectable so that tests check the pacing without timing anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from telemed.storage.base import CHUNK_SIZE

TIMEOUT = 60.0


class UploadRefused(RuntimeError):
    """The hub refused the upload with a reason (a 4xx answer); retrying will not help."""


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    start, _, end = text.partition("-")
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def in_window(moment: dt.time, window: tuple[dt.time, dt.time] | None) -> bool:
    """Whether ``moment`` lies in ``[start, end)``; a window past midnight wraps."""
    if window is None:
        return True
    start, end = window
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class SlideUploader:
    hub: str  # e.g. "https://hub.example/" (the tus endpoint is /pathology/tus/)
    headers: dict[str, str]
    path: Path
    consultation_id: int
    state_file: Path
    stain: str = ""
    chunk_size: int = 4 * 1024 * 1024
    rate: float | None = None  # bytes per second
    window: tuple[dt.time, dt.time] | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now
    session: requests.Session = field(default_factory=requests.Session)
    # An edge gateway bringing the file of a slide it registered: the hub's slide id and
    # the registered SHA-256 (announced as is, so the hub verifies the bytes themselves).
    registered_slide_id: int | None = None
    sha256: str | None = None
    filename: str = ""
    slide_id: int | None = None
    # The last run: the offset it resumed from and the bytes it sent.
    resumed_from: int = 0
    sent: int = 0

    def _tus(self, **extra: str) -> dict[str, str]:
        return {**self.headers, "Tus-Resumable": "1.0.0", **extra}

    def _refused(self, answer: requests.Response) -> UploadRefused:
        try:
            message = answer.json().get("message", answer.reason)
        except ValueError:
            message = answer.reason
        return UploadRefused(f"{answer.status_code}: {message}")

    def _location(self) -> str:
        if self.state_file.exists():
            return str(json.loads(self.state_file.read_text())["location"])
        values = {
            "consultation": str(self.consultation_id),
            "filename": self.filename or self.path.name,
            "stain": self.stain,
            "sha256": self.sha256 or sha256_of(self.path),
        }
        if self.registered_slide_id is not None:
            values["slide"] = str(self.registered_slide_id)
        meta = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
        )
        answer = self.session.post(
            self.hub.rstrip("/") + "/pathology/tus/",
            headers=self._tus(
                **{"Upload-Length": str(self.path.stat().st_size), "Upload-Metadata": meta}
            ),
            timeout=TIMEOUT,
        )
        if answer.status_code != 201:
            raise self._refused(answer)
        location = self.hub.rstrip("/") + answer.headers["Location"]
        self.state_file.write_text(json.dumps({"location": location}))
        return location

    def offset(self, location: str) -> int:
        answer = self.session.head(location, headers=self._tus(), timeout=TIMEOUT)
        if answer.status_code != 200:
            raise self._refused(answer)
        return int(answer.headers["Upload-Offset"])

    def run(self, *, max_bytes: int | None = None) -> bool:
        """Send until done (True), or until ``max_bytes`` were sent in this run or the
        window closed (False: run again later to resume)."""
        location = self._location()
        offset = self.offset(location)
        self.resumed_from, self.sent = offset, 0
        size = self.path.stat().st_size
        sent = 0
        started = self.clock()
        with self.path.open("rb") as stream:
            while offset < size:
                if not in_window(self.wall_clock().time(), self.window):
                    return False
                piece = min(self.chunk_size, size - offset)
                if max_bytes is not None:
                    if sent >= max_bytes:
                        return False
                    piece = min(piece, max_bytes - sent)
                if self.rate:
                    # Not before the bytes sent so far, plus this piece, fit under the cap.
                    due = started + (sent + piece) / self.rate
                    wait = due - self.clock()
                    if wait > 0:
                        self.sleep(wait)
                stream.seek(offset)
                answer = self.session.patch(
                    location,
                    data=stream.read(piece),
                    headers=self._tus(
                        **{
                            "Upload-Offset": str(offset),
                            "Content-Type": "application/offset+octet-stream",
                        }
                    ),
                    timeout=TIMEOUT,
                )
                if answer.status_code == 409:
                    offset = self.offset(location)  # the hub knows better: go on from there
                    continue
                if answer.status_code != 204:
                    self.state_file.unlink(missing_ok=True)
                    raise self._refused(answer)
                new_offset = int(answer.headers["Upload-Offset"])
                sent += new_offset - offset
                self.sent = sent
                offset = new_offset
                if answer.headers.get("X-Slide-Id"):
                    self.slide_id = int(answer.headers["X-Slide-Id"])
        self.state_file.unlink(missing_ok=True)
        return True
