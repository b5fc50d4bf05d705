"""The edge gateway's settings, from the environment (strictly parsed, like the platform's):

* ``EDGE_HUB_URL``: the hub, e.g. ``https://hub.example/`` (required).
* ``EDGE_TOKEN``: a bearer token of the hospital's API client; or ``EDGE_CLIENT_ID`` and
  ``EDGE_CLIENT_SECRET`` (or ``EDGE_CLIENT_SECRET_FILE``), with which the edge fetches
  tokens itself and renews them before they expire (what a long-running edge wants).
* ``EDGE_WATCH_DIR``: the folder technicians drop slides into, one sub-folder per case
  number (default ``VAR_DIR/edge/inbox``).
* ``EDGE_UPLOAD_WINDOW``: when files are uploaded, e.g. ``20:00-07:00`` (default: any time).
* ``EDGE_UPLOAD_RATE``: the upload's cap in bytes per second (default: none).
* ``EDGE_POLL_SECONDS``: how often the folder is looked at (default 5).

``TELEMED_ROLE``, when set, must be ``edge`` for ``telemed edge run``: an installation
marked as the hub does not start an edge by mistake.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from telemed.conf import env_int, env_secret, env_str
from telemed.pathology.uploader import parse_window


@dataclass(frozen=True)
class EdgeConfig:
    hub_url: str
    token: str
    client_id: str
    client_secret: str
    watch_dir: Path
    window: tuple[dt.time, dt.time] | None
    rate: int | None
    poll_seconds: int

    @property
    def state_dir(self) -> Path:
        return Path(settings.VAR_DIR) / "edge"


def load() -> EdgeConfig:
    role = env_str("TELEMED_ROLE", "edge")
    if role != "edge":
        raise ImproperlyConfigured(f"TELEMED_ROLE is {role!r}: telemed edge runs only as 'edge'")
    hub = env_str("EDGE_HUB_URL", "")
    if not hub.startswith(("http://", "https://")):
        raise ImproperlyConfigured("EDGE_HUB_URL must be the hub's http(s) address")
    token = env_secret("EDGE_TOKEN") or ""
    client_id = env_str("EDGE_CLIENT_ID", "")
    client_secret = env_secret("EDGE_CLIENT_SECRET") or ""
    if not token and not (client_id and client_secret):
        raise ImproperlyConfigured(
            "set EDGE_TOKEN, or EDGE_CLIENT_ID and EDGE_CLIENT_SECRET, of the hospital's API client"
        )
    window_text = env_str("EDGE_UPLOAD_WINDOW", "")
    try:
        window = parse_window(window_text) if window_text else None
    except ValueError:
        raise ImproperlyConfigured(
            f"EDGE_UPLOAD_WINDOW must look like 20:00-07:00, not {window_text!r}"
        ) from None
    rate = env_int("EDGE_UPLOAD_RATE", 0, minimum=0)
    return EdgeConfig(
        hub_url=hub.rstrip("/") + "/",
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        watch_dir=Path(env_str("EDGE_WATCH_DIR", str(Path(settings.VAR_DIR) / "edge" / "inbox"))),
        window=window,
        rate=rate or None,
        poll_seconds=env_int("EDGE_POLL_SECONDS", 5, minimum=1),
    )
