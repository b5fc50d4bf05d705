"""Slides into the edge: the watched folder, the edge's own copy, and registration with the
hub.

A technician drops a slide file into ``EDGE_WATCH_DIR/<case number>/`` (the folder names
the case, as the hub numbers it, so nothing else needs typing). A file is taken once it has
stopped changing between two looks (a scanner or a copy may still be writing it): it is
streamed into the edge's blob store (hashed on the way), read by OpenSlide, and removed
from the folder. A file that is refused stays, renamed ``<name>.refused``, with the reason
beside it in ``<name>.refused.txt``. Then the slide is registered with the hub at once
(metadata, DeepZoom size, thumbnail, SHA-256); while the hub cannot be reached it waits in
``stored`` and registration is tried again on the next look.
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

from django.db import IntegrityError

from telemed.consultations.attachments import clean_name
from telemed.core import clock
from telemed.core.errors import DomainError
from telemed.pathology import services, slides
from telemed.pathology.edge.hub import HubClient, HubRefused, HubUnreachable
from telemed.pathology.edge.models import EdgeSlide, EdgeState

logger = logging.getLogger(__name__)

CASE_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$")
REFUSED = ".refused"
# Names that are never slides: hidden files and what copy tools leave while writing.
SKIPPED_SUFFIXES = (REFUSED, ".refused.txt", ".part", ".partial", ".tmp", ".crdownload")


def refuse(path: Path, reason: str) -> None:
    logger.warning("refused %s: %s", path, reason)
    path.with_name(path.name + ".refused.txt").write_text(reason + "\n", encoding="utf-8")
    path.rename(path.with_name(path.name + REFUSED))


class Inbox:
    """The watched folder; remembers what each file looked like at the previous look."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: dict[Path, tuple[int, float]] = {}

    def settled(self) -> list[tuple[str, Path]]:
        """(case number, file) for every file that did not change since the last look."""
        self.root.mkdir(parents=True, exist_ok=True)
        found: dict[Path, tuple[int, float]] = {}
        ready = []
        for path in sorted(self.root.rglob("*")):
            if (
                not path.is_file()
                or path.name.startswith(".")
                or path.name.endswith(SKIPPED_SUFFIXES)
            ):
                continue
            stat = path.stat()
            found[path] = (stat.st_size, stat.st_mtime)
            if self.seen.get(path) == found[path]:
                # Only <root>/<case number>/<file> names a case; anything else is refused.
                in_case = path.parent.parent == self.root
                ready.append((path.parent.name if in_case else "", path))
        self.seen = found
        return ready


def ingest(case_number: str, path: Path) -> EdgeSlide | None:
    """Take one dropped file into the edge's store (None if refused, with the reason left
    beside it)."""
    if not CASE_FOLDER.match(case_number):
        refuse(path, "Put the slide in a folder named after its case number.")
        return None
    name = clean_name(path.name)
    try:
        with path.open("rb") as stream:
            blob, entry, _info = services.take_file(stream, name, declared_size=path.stat().st_size)
    except DomainError as error:
        refuse(path, error.message)
        return None
    try:
        row, _ = EdgeSlide.objects.get_or_create(
            case_number=case_number,
            sha256=blob.sha256,
            defaults={"name": name, "entry": entry, "size": blob.size, "created_at": clock.now()},
        )
    except IntegrityError:
        row = EdgeSlide.objects.get(case_number=case_number, sha256=blob.sha256)
    path.unlink()
    logger.info("took %s for case %s (%s bytes)", name, case_number, blob.size)
    return row


def registration(row: EdgeSlide) -> dict[str, object]:
    """What the hub is told about a slide: read again from the edge's own copy."""
    source = row.source
    info = slides.inspect(slides.file_path(source))
    width, height = slides.deepzoom_size(source)
    return {
        "case_number": row.case_number,
        "name": row.name,
        "stain": row.stain,
        "sha256": row.sha256,
        "entry": row.entry,
        "size": row.size,
        "vendor": info.vendor,
        "width": info.width,
        "height": info.height,
        "level_count": info.level_count,
        "mpp_x": info.mpp_x,
        "mpp_y": info.mpp_y,
        "objective_power": info.objective_power,
        "has_label": info.has_label,
        "has_macro": info.has_macro,
        "deepzoom_width": width,
        "deepzoom_height": height,
        "tile_version": slides.TILE_VERSION,
        "thumbnail_base64": base64.b64encode(slides.thumbnail(source)).decode(),
    }


def register(row: EdgeSlide, hub: HubClient) -> None:
    """Register one stored slide with the hub (left ``stored`` while the hub is away)."""
    try:
        body = hub.post_json("api/pathology/edge/slides", registration(row))
    except HubUnreachable as error:
        logger.info("hub unreachable, %s stays stored: %s", row, error)
        return
    except (HubRefused, DomainError) as error:
        _set(row, EdgeState.FAILED, reason=str(error)[:300])
        return
    state = {"available": EdgeState.UPLOADED, "failed": EdgeState.FAILED}.get(
        str(body.get("state")), EdgeState.REGISTERED
    )
    _set(
        row,
        state,
        reason=str(body.get("failure_reason", ""))[:300],
        hub_slide_id=body["id"],
        hub_consultation_id=body["consultation_id"],
    )
    logger.info("registered %s as hub slide %s (%s)", row.name, body["id"], state)


def _set(row: EdgeSlide, state: str, **fields: object) -> None:
    fields = {"state": state, "updated_at": clock.now(), **fields}
    EdgeSlide.objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)


def look(inbox: Inbox, hub: HubClient) -> None:
    """One look at the folder: take what settled, register what waits."""
    for case_number, path in inbox.settled():
        ingest(case_number, path)
    for row in EdgeSlide.objects.filter(state=EdgeState.STORED):
        register(row, hub)
