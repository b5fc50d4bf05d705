"""The platform's clock. Code asks ``clock.now()`` so tests can move time without patching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Freeze ``now()`` at an aware datetime for the duration of a block (tests)."""
    global _frozen
    if timezone.is_naive(moment):
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
