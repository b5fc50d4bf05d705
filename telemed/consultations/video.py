"""Video on demand through Jitsi Meet: we keep the room, who joined and when; Jitsi carries
the video. No video stack of our own.

Settings (read here with defaults, so that none is required):

* ``JITSI_BASE_URL``: the Jitsi Meet server, e.g. ``https://meet.example-hospital.cn``;
  empty means video is not configured, and the case page says so.
* ``JITSI_JWT_SECRET``: when set, every join link carries an HS256 token for the room
  (Jitsi's token authentication, ``prosody`` ``authentication = "token"``), so that only
  people the platform sent can enter.
* ``JITSI_APP_ID``: the token's issuer (Jitsi's ``app_id``); ``telemed`` when unset.

A case has at most one open room. Its name is 160 random bits in lowercase hex: Jitsi folds
room names to lowercase, so a mixed-case ``token_urlsafe`` name would lose entropy and two
names differing only in case would be the same room. The room name is a capability (without
a JWT anyone who knows it can enter), so it is never written to the history or the audit
trail, only to the room's own row.

A join is recorded when the platform hands a person their join link (the page's redirect or
the API's answer); Jitsi is not asked who actually stayed in the room.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from jwcrypto import jwk, jwt
from jwcrypto.common import base64url_encode

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Consultation, VideoJoin, VideoSession
from telemed.consultations.states import TERMINAL, State
from telemed.consultations.workflow import access, record_on_case
from telemed.core import clock, events
from telemed.core.errors import Conflict, PermissionDenied

if TYPE_CHECKING:
    from telemed.accounts.models import User

ROOM_BYTES = 20  # 160 bits
TOKEN_LIFETIME = dt.timedelta(hours=4)
AUDIENCE = "jitsi"
REQUESTING_ROLES = frozenset({Role.REQUESTING_DOCTOR, Role.SYSTEM})
# A room is closed when the case reaches one of these.
ENDED = frozenset({State.CONCLUDED}) | TERMINAL


def base_url() -> str:
    return str(getattr(settings, "JITSI_BASE_URL", "") or "").strip().rstrip("/")


def configured() -> bool:
    return bool(base_url())


def new_room_name() -> str:
    return "tm" + secrets.token_hex(ROOM_BYTES)


def may_take_part(actor: User, consultation: Consultation) -> bool:
    """The requesting side, the assigned expert, and consultation managers (whose scope
    ``access`` has already checked)."""
    if consultation.assigned_expert_id is not None and consultation.assigned_expert_id == actor.pk:
        return True
    if actor.role == Role.CONSULTATION_MANAGER:
        return True
    return (
        actor.role in REQUESTING_ROLES
        and actor.institution_id == consultation.requesting_institution_id
    )


def may_open(actor: User, consultation: Consultation) -> bool:
    return (
        configured()
        and may_take_part(actor, consultation)
        and consultation.state != State.DRAFT
        and consultation.state not in TERMINAL
    )


def _check(actor: User, consultation: Consultation, action: str) -> None:
    if not may_take_part(actor, consultation):
        audit.denied(
            actor,
            Action.CREATE,
            object_type="consultation_video",
            object_id=consultation.pk,
            reason=f"not on the case for {action}",
        )
        raise PermissionDenied(gettext("Only the people on the case take part in its video."))
    if consultation.state == State.DRAFT or consultation.state in TERMINAL:
        raise Conflict(
            gettext("Consultation %(number)s is “%(state)s”: it has no video room.")
            % {"number": consultation.number, "state": consultation.get_state_display()},
            details={"state": consultation.state},
        )
    if not configured():
        raise Conflict(
            gettext("Video is not configured on this platform (JITSI_BASE_URL)."),
            details={"video_configured": False},
        )


def current_session(consultation: Consultation) -> VideoSession | None:
    """The case's open room, if any (through the case, so within the caller's scope)."""
    return (
        consultation.video_sessions.filter(closed_at__isnull=True)
        .select_related("opened_by")
        .order_by("-opened_at")
        .first()
    )


@dataclass(frozen=True)
class JoinLink:
    session: VideoSession
    url: str
    opened: bool = False  # this call opened the room


def open_room(actor: User, consultation_id: int) -> VideoSession:
    """Open the case's video room, or return the one already open."""
    consultation = access(actor, consultation_id)
    _check(actor, consultation, "video_open")
    with transaction.atomic():
        # The row lock makes "one open room per case" hold when two people open at once.
        locked = (
            Consultation.objects.unscoped("row lock on a case just read in scope")
            .select_for_update()
            .get(pk=consultation.pk)
        )
        _check(actor, locked, "video_open")
        existing = current_session(locked)
        if existing is not None:
            return existing
        moment = clock.now()
        session = VideoSession.objects.create(
            consultation=locked, room_name=new_room_name(), opened_by=actor, opened_at=moment
        )
        record_on_case(
            actor,
            locked,
            "video_open",
            audit_action=Action.CREATE,
            object_type="consultation_video",
            object_id=session.pk,
            at=moment,
            detail={"session": session.pk},
        )
    return session


def join(actor: User, consultation_id: int, *, open_if_needed: bool = False) -> JoinLink:
    """Record that the actor joins the case's open room and return their join link.
    With ``open_if_needed`` the room is opened first when none is open."""
    consultation = access(actor, consultation_id)
    _check(actor, consultation, "video_join")
    opened = False
    session = current_session(consultation)
    if session is None and open_if_needed:
        session = open_room(actor, consultation_id)
        opened = True
    if session is None:
        raise Conflict(
            gettext("No video room is open for consultation %(number)s; open one first.")
            % {"number": consultation.number},
            details={"video_open": False},
        )
    with transaction.atomic():
        moment = clock.now()
        VideoJoin.objects.create(session=session, user=actor, at=moment)
        record_on_case(
            actor,
            consultation,
            "video_join",
            audit_action=Action.READ,
            object_type="consultation_video",
            object_id=session.pk,
            at=moment,
            detail={"session": session.pk},
            audit_detail={"join": True},
        )
    return JoinLink(session=session, url=join_url(actor, session), opened=opened)


def close(actor: User, consultation_id: int) -> VideoSession | None:
    """Close the case's open room (anyone on the case); None when none was open."""
    consultation = access(actor, consultation_id)
    if not may_take_part(actor, consultation):
        raise PermissionDenied(gettext("Only the people on the case take part in its video."))
    with transaction.atomic():
        session = current_session(consultation)
        if session is None:
            return None
        _close(consultation, session, actor)
    return session


def _close(consultation: Consultation, session: VideoSession, actor: User | None) -> None:
    moment = clock.now()
    VideoSession.objects.unscoped("closing a room of a case read in scope").filter(
        pk=session.pk, closed_at__isnull=True
    ).update(closed_at=moment)
    session.closed_at = moment
    record_on_case(
        actor,
        consultation,
        "video_close",
        audit_action=Action.UPDATE,
        object_type="consultation_video",
        object_id=session.pk,
        at=moment,
        detail={"session": session.pk},
        audit_detail={"closed": True},
    )


def close_when_ended(payload: dict[str, Any]) -> None:
    """Event subscriber: a case that concludes or ends closes its open room."""
    consultation_id = payload.get("id")
    if payload.get("state") not in ENDED or not isinstance(consultation_id, int):
        return
    still_open = VideoSession.objects.unscoped("system: does an ended case have an open room")
    if not still_open.filter(consultation_id=consultation_id, closed_at__isnull=True).exists():
        return  # most cases never open a room
    with transaction.atomic():
        consultation = (
            Consultation.objects.unscoped("system: closing the video room of an ended case")
            .filter(pk=consultation_id)
            .first()
        )
        if consultation is None:
            return
        for session in consultation.video_sessions.filter(closed_at__isnull=True):
            _close(consultation, session, None)


def connect() -> None:
    """Subscribe ``close_when_ended`` to case changes (call once from AppConfig.ready)."""
    events.subscribe("consultation.changed", close_when_ended)


def display_name(user: User) -> str:
    name = user.get_full_name() or user.get_username()
    institution = user.institution
    return f"{name} ({institution.name})" if institution is not None else name


def join_url(user: User, session: VideoSession) -> str:
    """``{base}/{room}``, with ``?jwt=`` when a secret is set, and the person's name in the
    fragment so that the others see who they are."""
    url = f"{base_url()}/{session.room_name}"
    secret = str(getattr(settings, "JITSI_JWT_SECRET", "") or "")
    if secret:
        url += "?jwt=" + room_token(user, session, secret)
    name = json.dumps(display_name(user), ensure_ascii=False)
    return url + "#userInfo.displayName=" + quote(name, safe="")


def room_token(user: User, session: VideoSession, secret: str) -> str:
    """An HS256 token in the shape Jitsi's token authentication expects."""
    now = clock.now()
    consultation = session.consultation
    moderator = user.pk == consultation.assigned_expert_id or user.role == Role.CONSULTATION_MANAGER
    claims = {
        "aud": AUDIENCE,
        "iss": str(getattr(settings, "JITSI_APP_ID", "") or "telemed"),
        "sub": urlsplit(base_url()).hostname or "",
        "room": session.room_name,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 60,
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "context": {
            "user": {
                "id": str(user.pk),
                "name": display_name(user),
                "email": user.email,
                "moderator": moderator,
            }
        },
    }
    key = jwk.JWK(kty="oct", k=base64url_encode(secret.encode("utf-8")))
    token = jwt.JWT(header={"alg": "HS256", "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def joins_of(session: VideoSession) -> list[VideoJoin]:
    return list(session.joins.select_related("user", "user__institution").order_by("at", "pk"))
