"""The live board: every change of a consultation is pushed to the "board" group; each
connected viewer's consumer forwards it only when the case is in that viewer's scope (or was
on the board the viewer has been shown), with the viewer's rows and counts rendered through
the scoped board query (once per scope and change, shared by all viewers of that scope).

The message names the case and its new state; the rows name no patient. Measured against the
alternative (tell the page, let it fetch /board/rows): 50 viewers fetching at once after each
change is a herd the server feels (see bench/consultations.py); rendering once and pushing the
HTML is not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone, translation

from telemed.accounts.scoping import Scope, scope_for
from telemed.consultations import board
from telemed.notifications import push
from telemed.notifications.consumers import SignedInConsumer
from telemed.web.menus import may_open

if TYPE_CHECKING:
    from telemed.accounts.models import User

logger = logging.getLogger(__name__)

GROUP = "board"
BOARD_PAGE = "board:board"
# Changes that leave the board's rows as they were.
QUIET = frozenset({"message", "edit"})


def on_consultation_changed(payload: dict[str, Any]) -> None:
    """Event subscriber: boards rendered before are stale; tell every viewer's consumer."""
    if payload.get("action") not in QUIET:
        board.changed()
    push.group_send(
        GROUP, {"type": "board.changed", "payload": payload, "generation": board.generation()}
    )


def in_scope(scope: Scope, payload: dict[str, Any]) -> bool:
    """Whether a case with this payload is one the scope can see (as ``visible_to``)."""
    if scope.everything:
        return True
    if scope.institution_ids and (
        payload.get("requesting_institution_id") in scope.institution_ids
        or payload.get("assigned_institution_id") in scope.institution_ids
    ):
        return True
    return bool(
        scope.grantee_user_id is not None
        and payload.get("assigned_expert_id") == scope.grantee_user_id
    )


def on_board_today(payload: dict[str, Any]) -> bool:
    start = payload.get("scheduled_start")
    if not start:
        return False
    try:
        moment = dt.datetime.fromisoformat(start)
    except ValueError:
        return True  # cannot tell: redraw rather than miss it
    return timezone.localtime(moment).date() == timezone.localdate()


def _viewer(user: User) -> tuple[Scope, set[int]]:
    return scope_for(user), board.board_ids(user)


# Renderings in progress, by (generation, scope, wall, language): the first viewer of a scope
# to hear of a change renders, the others await the same task.
_rendering: dict[tuple[object, ...], asyncio.Future[str]] = {}


def _forget(key: tuple[object, ...], done: asyncio.Future[str]) -> None:
    if _rendering.get(key) is done:
        del _rendering[key]


def _rows(user: User, wall: bool, language: str) -> str:
    with translation.override(language):
        return board.rows_html(user, wall=wall)


class BoardConsumer(SignedInConsumer):
    """One board page's socket ("/ws/board/?lang=zh-hans[&wall=1]"). A change the viewer may
    see comes with the viewer's rows and counts, rendered once per scope for all viewers."""

    scope_of_user: Scope
    scope_key: str
    shown: set[int]
    wall: bool = False
    language: str = ""

    async def may_connect(self, user: User) -> bool:
        if not may_open(user.role, BOARD_PAGE):
            return False
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.wall = query.get("wall", [""])[0] == "1"
        language = query.get("lang", [""])[0].lower()
        known = {code for code, _ in settings.LANGUAGES}
        self.language = language if language in known else settings.LANGUAGE_CODE
        self.scope_of_user, self.shown = await database_sync_to_async(_viewer)(user)
        self.scope_key = board.scope_key(self.scope_of_user)
        return True

    async def rows(self, generation: object) -> str | None:
        """This viewer's rows; viewers with the same scope share one rendering per change.
        None when it fails (the page then fetches them itself)."""
        key = (generation, self.scope_key, self.wall, self.language)
        task = _rendering.get(key)
        if task is None:
            task = asyncio.ensure_future(
                database_sync_to_async(_rows)(self.user, self.wall, self.language)
            )
            _rendering[key] = task
            task.add_done_callback(lambda done: _forget(key, done))
        try:
            return await asyncio.shield(task)
        except Exception:
            logger.exception("rendering the board for a push failed")
            return None

    def groups_for(self, user: User) -> list[str]:
        return [GROUP]

    async def board_changed(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        case_id = payload.get("id")
        if payload.get("action") in QUIET:
            return
        if in_scope(self.scope_of_user, payload):
            if case_id not in self.shown and not on_board_today(payload):
                return  # neither on the board nor coming onto it: nothing to redraw
            self.shown.add(case_id)
            await self.send_json(
                {
                    "type": "changed",
                    "id": case_id,
                    "number": payload.get("number"),
                    "state": payload.get("state"),
                    "action": payload.get("action"),
                    "html": await self.rows(event.get("generation")),
                }
            )
        elif case_id in self.shown:
            # Left the viewer's scope (reassigned elsewhere): its row must go; say no more.
            self.shown.discard(case_id)
            html = await self.rows(event.get("generation"))
            await self.send_json({"type": "changed", "id": case_id, "html": html})
