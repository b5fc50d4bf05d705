"""WebSocket consumers: the signed-in person's notifications ("/ws/notifications/"), and the
guard every live socket passes before it is accepted.

A socket is the page's session continued: the same sign-in, the same second factor, the same
idle timeout. Anyone else is refused before the handshake completes (HTTP 403). An open socket
is checked again every ``RECHECK_SECONDS``: once its session has idled out, been signed out or
its person deactivated, it is closed (code 4401), and the page's reconnect is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from telemed.accounts.middleware import _LAST_SEEN
from telemed.accounts.services import second_factor_required
from telemed.notifications import push
from telemed.notifications.queries import unread_count

if TYPE_CHECKING:
    from telemed.accounts.models import User


def admitted(scope: dict[str, Any]) -> User | None:
    """The socket's user when the session would also open a page; None otherwise."""
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    session = scope.get("session")
    last = session.get(_LAST_SEEN) if session is not None else None
    if isinstance(last, int) and int(time.time()) - last > settings.SESSION_IDLE_TIMEOUT:
        return None
    if second_factor_required(user):
        persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
        device = Device.from_persistent_id(persistent_id) if persistent_id else None
        if device is None or device.user_id != user.pk or not device.confirmed:
            return None
    return user


RECHECK_SECONDS = 60.0
# The close code a socket gets when its session has ended while it was open.
SESSION_ENDED = 4401


def _session_now(session: Any) -> Mapping[str, Any] | None:
    """The session as stored now (pages of the same sign-in move its last-seen time on; a
    sign-out deletes it), or None when it is gone. A plain mapping (a test harness's) is
    taken as it is."""
    key = getattr(session, "session_key", None)
    if key is None:
        return session if isinstance(session, Mapping) else None
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not store().exists(key):
        return None
    fresh: Mapping[str, Any] = store(session_key=key)
    return fresh


def still_admitted(scope: dict[str, Any]) -> bool:
    """Whether an open socket's session would still open a page."""
    user = scope.get("user")
    session = _session_now(scope.get("session"))
    if user is None or session is None:
        return False
    user.refresh_from_db(fields=["is_active"])
    return admitted({"user": user, "session": session}) is not None


class SignedInConsumer(AsyncWebsocketConsumer):
    """Accepts only a fully signed-in person; subclasses say which groups to join."""

    user: User
    joined: tuple[str, ...] = ()
    _recheck: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = await database_sync_to_async(admitted)(self.scope)
        if user is None or not await self.may_connect(user):
            await self.close()
            return
        self.user = user
        push.remember_loop(asyncio.get_running_loop())
        self.joined = tuple(self.groups_for(user))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self._recheck = asyncio.create_task(self._keep_checking())
        await self.on_accepted()

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if not await database_sync_to_async(still_admitted)(self.scope):
                await self.close(code=SESSION_ENDED)
                return

    async def disconnect(self, code: int) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Only a keep-alive is expected from the page.
        if text_data == "ping":
            await self.send(text_data=json.dumps({"type": "pong"}))

    async def may_connect(self, user: User) -> bool:
        return True

    def groups_for(self, user: User) -> list[str]:
        return []

    async def on_accepted(self) -> None:
        pass

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class NotificationConsumer(SignedInConsumer):
    """Pushes the person's new notifications and unread count; nobody else's."""

    def groups_for(self, user: User) -> list[str]:
        return [user_group(user.pk)]

    async def on_accepted(self) -> None:
        # The count as it is now: the badge may be stale after a reconnect.
        unread = await database_sync_to_async(unread_count)(self.user)
        await self.send_json({"type": "unread", "unread": unread})

    def _mine(self, event: dict[str, Any]) -> bool:
        # The group is the person's own; the check keeps it so if a group name ever collides.
        return bool(event.get("recipient_id") == self.user.pk)

    async def notification_created(self, event: dict[str, Any]) -> None:
        if self._mine(event):
            await self.send_json(
                {
                    "type": "notification",
                    "notification": event["notification"],
                    "unread": event["unread"],
                }
            )

    async def notification_read(self, event: dict[str, Any]) -> None:
        if self._mine(event):
            await self.send_json({"type": "unread", "unread": event["unread"]})
