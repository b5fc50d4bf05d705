"""Email and SMS delivery behind one small interface.

``settings.NOTIFY_EMAIL_BACKEND`` and ``settings.NOTIFY_SMS_BACKEND`` name the adapter:
``"log"`` (the default: one log line per message, for the demo and tests), ``"none"``
(off), or the dotted path of a class with a ``send(recipient, title, body, link)`` method
(a hospital's mail relay or SMS gateway, written when there is one). A failing adapter is
logged and never undoes the in-app notification.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from telemed.accounts.models import User

logger = logging.getLogger(__name__)

EMAIL, SMS = "email", "sms"


class Adapter(Protocol):
    def send(self, recipient: User, title: str, body: str, link: str) -> None: ...


class LogAdapter:
    """Writes what would be sent; the demo's stand-in for a gateway."""

    def __init__(self, medium: str) -> None:
        self.medium = medium

    def send(self, recipient: User, title: str, body: str, link: str) -> None:
        logger.info(
            "%s to %s (user %s): %s %s",
            self.medium,
            recipient.email or recipient.get_username(),
            recipient.pk,
            title,
            link,
        )


class NullAdapter:
    def send(self, recipient: User, title: str, body: str, link: str) -> None:
        return None


def adapter(medium: str) -> Adapter:
    name = getattr(settings, f"NOTIFY_{medium.upper()}_BACKEND", "log") or "none"
    if name == "log":
        return LogAdapter(medium)
    if name == "none":
        return NullAdapter()
    found: Adapter = import_string(name)()
    return found


def media_for(urgency: str) -> tuple[str, ...]:
    """Urgent cases also go by email; emergencies by email and SMS."""
    if urgency == "emergency":
        return (EMAIL, SMS)
    if urgency == "urgent":
        return (EMAIL,)
    return ()


def send_outside(recipients: list[User], urgency: str, title: str, body: str, link: str) -> int:
    """Deliver through the configured adapters; returns how many messages went out."""
    sent = 0
    for medium in media_for(urgency):
        try:
            gateway = adapter(medium)
        except Exception:
            logger.exception("the %s adapter cannot be loaded", medium)
            continue
        for recipient in recipients:
            try:
                gateway.send(recipient, title, body, link)
                sent += 1
            except Exception:
                logger.exception("%s to user %s failed", medium, recipient.pk)
    return sent
