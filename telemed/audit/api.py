from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from telemed.audit import queries
from telemed.audit import services as audit
from telemed.audit.models import Action, AuditEvent
from telemed.core.errors import PermissionDenied

router = Router(tags=["audit"])


class EventOut(Schema):
    seq: int
    at: dt.datetime
    actor: str
    role: str
    institution: str
    action: str
    object_type: str
    object_id: str
    patient_id: int | None
    outcome: str
    source_ip: str
    channel: str


class EventFilter(Schema):
    actor: str = Field(default="", max_length=150)
    action: str = Field(default="", max_length=10)
    outcome: str = Field(default="", max_length=10)
    patient_id: int | None = None
    institution: str = Field(default="", max_length=32)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


@router.get(
    "/events",
    response=list[EventOut],
    summary="Search the audit trail (administrators, supervisors)",
)
def list_events(request: HttpRequest, params: Query[EventFilter]) -> list[AuditEvent]:
    user = request.auth  # type: ignore[attr-defined]
    if not queries.can_audit(user):
        audit.denied(user, Action.SEARCH, object_type="audit_event", reason="not an auditor")
        raise PermissionDenied("Only administrators and supervisors can search the audit trail")
    filters = params.dict(exclude={"limit", "offset"})
    events = queries.search_events(user, **filters)
    return list(events[params.offset : params.offset + params.limit])
