"""The sending side over real HTTP (the live server): an upload stopped halfway resumes in a
new process's uploader without re-sending what arrived, under a bandwidth cap and a time
window; the pacing is checked on an injected clock (nothing timed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from telemed.pathology.models import Slide
from telemed.pathology.uploader import SlideUploader, UploadRefused, in_window, parse_window


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _token(institution_code: str) -> str:
    from django.test import Client

    from telemed.accounts.services import create_api_client

    created = create_api_client(institution_code)
    basic = base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode()
    answer = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return str(answer.json()["access_token"])


def test_windows() -> None:
    night = parse_window("20:00-07:00")
    assert in_window(dt.time(23, 0), night) and in_window(dt.time(6, 59), night)
    assert not in_window(dt.time(7, 0), night) and not in_window(dt.time(12, 0), night)
    assert in_window(dt.time(12, 0), parse_window("09:00-17:00"))
    assert in_window(dt.time(3, 0), None)


def test_stopped_halfway_resumes_under_the_cap(
    live_server, network, team, case, svs: Path, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {_token(network.county_a.code)}"}
    state = tmp_path / "upload.json"
    fake = FakeTime()
    size = svs.stat().st_size
    rate = 1_000_000.0

    def uploader() -> SlideUploader:
        return SlideUploader(
            hub=live_server.url,
            headers=headers,
            path=svs,
            consultation_id=case.pk,
            state_file=state,
            stain="H&E",
            chunk_size=64 * 1024,
            rate=rate,
            clock=fake.clock,
            sleep=fake.sleep,
        )

    first = uploader()
    assert first.run(max_bytes=size // 2) is False  # "killed" halfway
    location = json.loads(state.read_text())["location"]
    halfway = first.offset(location)
    assert halfway == size // 2
    second = uploader()  # a restart: a new uploader, the same state file
    assert second.run() is True and second.slide_id is not None
    assert not state.exists()
    slide = Slide.objects.unscoped("test").get(pk=second.slide_id)
    assert (slide.vendor, slide.size, slide.stain) == ("aperio", size, "H&E")
    # Paced under the cap: the fake time spent is what the cap allows for each run's bytes.
    assert fake.now == pytest.approx(halfway / rate + (size - halfway) / rate, rel=0.01)


def test_outside_the_window_nothing_is_sent(
    live_server, network, team, case, svs: Path, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {_token(network.county_a.code)}"}
    noon = SlideUploader(
        hub=live_server.url,
        headers=headers,
        path=svs,
        consultation_id=case.pk,
        state_file=tmp_path / "u.json",
        window=parse_window("20:00-07:00"),
        wall_clock=lambda: dt.datetime(2026, 12, 1, 12, 0),
    )
    assert noon.run() is False
    location = json.loads((tmp_path / "u.json").read_text())["location"]
    assert noon.offset(location) == 0


def test_a_refused_upload_says_why(live_server, network, team, case, tmp_path: Path) -> None:
    junk = tmp_path / "junk.svs"
    junk.write_bytes(b"not a slide" * 1000)
    uploader = SlideUploader(
        hub=live_server.url,
        headers={"Authorization": f"Bearer {_token(network.county_a.code)}"},
        path=junk,
        consultation_id=case.pk,
        state_file=tmp_path / "u.json",
    )
    with pytest.raises(UploadRefused, match="415"):
        uploader.run()
    assert not (tmp_path / "u.json").exists()
