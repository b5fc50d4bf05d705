"""A small in-process event bus: services publish what happened; subscribers (the live
board, notifications, the exchange hub) react.

Most subscribers hear of an event after the publishing transaction commits, so a rolled-back
action announces nothing; such a subscriber's failure is logged and does not undo the action
or stop the other subscribers: the action is already durable. A subscriber that records
something which must exist exactly when the action does (the in-app notifications, an
outbox row) subscribes ``in_transaction``: it runs at once, inside the publisher's
transaction, and its failure fails the action.
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
_in_transaction: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(topic: str, subscriber: Subscriber, *, in_transaction: bool = False) -> None:
    chosen = _in_transaction if in_transaction else _subscribers
    if subscriber not in chosen[topic]:
        chosen[topic].append(subscriber)


def publish(topic: str, payload: dict[str, Any]) -> None:
    for subscriber in list(_in_transaction.get(topic, ())):
        subscriber(payload)
    if _subscribers.get(topic):
        transaction.on_commit(lambda: _deliver(topic, payload))


def _deliver(topic: str, payload: dict[str, Any]) -> None:
    for subscriber in list(_subscribers.get(topic, ())):
        try:
            subscriber(payload)
        except Exception:
            logger.exception("subscriber %r failed on %s", subscriber, topic)
