"""The edge's uploads: each registered slide's file goes to the hub's tus endpoint with
``SlideUploader``, inside ``EDGE_UPLOAD_WINDOW`` and under ``EDGE_UPLOAD_RATE``, one file at
a time (so the cap holds for the link). The upload's address is kept in a state file under
the edge's var dir, so a dropped link or a restart resumes from the offset the hub reports.
A slide someone at the hub asked for ("upload now") goes first and ignores the window.

Each run sends at most ``RUN_SECONDS`` worth of the cap and then starts again with fresh
headers, so a long upload outlives the bearer token it started with.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import requests

from telemed.core import clock
from telemed.pathology import slides
from telemed.pathology.edge.config import EdgeConfig
from telemed.pathology.edge.hub import HubClient, HubUnreachable
from telemed.pathology.edge.models import EdgeSlide, EdgeState
from telemed.pathology.uploader import SlideUploader, UploadRefused, in_window

logger = logging.getLogger(__name__)

RUN_SECONDS = 600
MIN_CHUNK = 64 * 1024
MAX_CHUNK = 4 * 1024 * 1024


def chunk_size(rate: int | None) -> int:
    # About a second of the cap per request: a stop loses little, and pacing stays smooth.
    return MAX_CHUNK if rate is None else max(MIN_CHUNK, min(MAX_CHUNK, rate))


def state_file(config: EdgeConfig, row: EdgeSlide) -> Path:
    folder = config.state_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{row.pk}.json"


def next_due(config: EdgeConfig, now: dt.datetime | None = None) -> EdgeSlide | None:
    moment = (now or dt.datetime.now()).time()
    waiting = EdgeSlide.objects.filter(
        state=EdgeState.REGISTERED, hub_slide_id__isnull=False
    ).order_by("-upload_now", "created_at")
    for row in waiting:
        if row.upload_now or in_window(moment, config.window):
            return row
    return None


def upload(row: EdgeSlide, config: EdgeConfig, hub: HubClient) -> bool:
    """Send (part of) one slide's file: True when the hub has it, False to go on later."""
    assert row.hub_consultation_id is not None
    uploader = SlideUploader(
        hub=config.hub_url,
        headers=hub.headers(),
        path=slides.local_path(row.sha256),
        consultation_id=int(row.hub_consultation_id),
        state_file=state_file(config, row),
        stain=row.stain,
        chunk_size=chunk_size(config.rate),
        rate=float(config.rate) if config.rate else None,
        window=None if row.upload_now else config.window,
        registered_slide_id=row.hub_slide_id,
        sha256=row.sha256,
        filename=row.name,
    )
    limit = config.rate * RUN_SECONDS if config.rate else None
    try:
        done = uploader.run(max_bytes=limit)
    except UploadRefused as error:
        if str(error).startswith("401"):
            return False  # the token ran out under way: the next run has a fresh one
        _record(row, uploader, state=EdgeState.FAILED, reason=str(error)[:300])
        logger.warning("the hub refused %s: %s", row, error)
        return False
    except (requests.RequestException, HubUnreachable) as error:
        _record(row, uploader)
        logger.info("upload of %s interrupted, resumes later: %s", row, error)
        return False
    _record(row, uploader, **({"state": EdgeState.UPLOADED, "upload_now": False} if done else {}))
    if done:
        logger.info(
            "uploaded %s (resumed from byte %s, sent %s)",
            row,
            uploader.resumed_from,
            uploader.sent,
        )
    return done


def _record(row: EdgeSlide, uploader: SlideUploader, **fields: object) -> None:
    EdgeSlide.objects.filter(pk=row.pk).update(
        resumed_from=uploader.resumed_from,
        sent_bytes=uploader.sent,
        updated_at=clock.now(),
        **fields,
    )


def ask_now(hub_slide_id: int) -> bool:
    """The hub passed on an "upload now": True if that slide waits here."""
    return bool(
        EdgeSlide.objects.filter(hub_slide_id=hub_slide_id, state=EdgeState.REGISTERED).update(
            upload_now=True
        )
    )
