"""Protocol listeners run by ``telemed serve`` beside the web server (the DICOM node, the
HL7 v2 MLLP listener).

An app registers a listener from its ``AppConfig.ready``: a name and a coroutine function
that serves until it is cancelled. ``telemed serve`` starts each registered listener as a
task on its own event loop, so that the embedded mode is one command; at scale each
listener runs as its own process (``telemed serve --only NAME``, or the app's own command).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Listener:
    name: str
    serve: Callable[[], Coroutine[Any, Any, None]]


_listeners: dict[str, Listener] = {}


def register(name: str, serve: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Add (or replace) a listener; ``serve`` runs until its task is cancelled."""
    _listeners[name] = Listener(name, serve)


def registered() -> list[Listener]:
    return list(_listeners.values())
