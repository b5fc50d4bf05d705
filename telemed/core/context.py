"""Facts about the current request that audit events need (source address, channel).

Set by middleware for every request and by the listeners for every association, read by the
audit service, so service functions do not have to thread the request through.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    source_ip: str = ""
    channel: str = "internal"  # web, api, cli, dicom, mllp, internal


_DEFAULT = RequestMeta()
_current: ContextVar[RequestMeta] = ContextVar("telemed_request_meta", default=_DEFAULT)


def current() -> RequestMeta:
    return _current.get()


def set_current(meta: RequestMeta) -> Token[RequestMeta]:
    return _current.set(meta)


def reset(token: Token[RequestMeta]) -> None:
    _current.reset(token)
