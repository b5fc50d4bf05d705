"""A small in-process event bus: services publish what happened, after their transaction
commits; subscribers (the live board, notifications, later the exchange hub) react.

Publishing inside a transaction defers delivery to the commit, so a rolled-back action
announces nothing. A subscriber's failure is logged and does not undo the action or stop the
other subscribers: the action is already durable.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Subscriber = Callable[[dict[str, Any]], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(topic: str, subscriber: Subscriber) -> None:
    if subscriber not in _subscribers[topic]:
        _subscribers[topic].append(subscriber)


def publish(topic: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _deliver(topic, payload))


def _deliver(topic: str, payload: dict[str, Any]) -> None:
    for subscriber in list(_subscribers.get(topic, ())):
        try:
            subscriber(payload)
        except Exception:
            logger.exception("subscriber %r failed on %s", subscriber, topic)
