"""Who may search the audit trail, and over what: administrators and supervisors, over the
events of institutions in their scope (the province centre's: all)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from telemed.accounts.models import Role
from telemed.accounts.scoping import scope_for
from telemed.audit import services as audit
from telemed.audit.models import Action, AuditEvent
from telemed.directory.models import Institution

if TYPE_CHECKING:
    from telemed.accounts.models import User

AUDITOR_ROLES = frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR})


def can_audit(user: User) -> bool:
    return user.is_authenticated and user.role in AUDITOR_ROLES


def visible_events(user: User) -> QuerySet[AuditEvent]:
    if not can_audit(user):
        return AuditEvent.objects.none()
    scope = scope_for(user)
    if scope.everything:
        return AuditEvent.objects.all()
    codes = Institution.objects.filter(pk__in=scope.institution_ids).values_list("code", flat=True)
    return AuditEvent.objects.filter(institution__in=list(codes))


def search_events(
    user: User,
    *,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    patient_id: int | None = None,
    institution: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The user's view of the trail, filtered. Looking at the trail is itself recorded."""
    events = visible_events(user)
    if can_audit(user):
        filters = {
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "patient_id": patient_id,
            "institution": institution,
            "since": since,
            "until": until,
        }
        audit.record(
            user,
            Action.SEARCH,
            object_type="audit_event",
            detail={k: str(v) for k, v in filters.items() if v not in ("", None)},
        )
    if actor:
        events = events.filter(actor=actor)
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)
    if patient_id is not None:
        events = events.filter(patient_id=patient_id)
    if institution:
        events = events.filter(institution=institution)
    if since:
        events = events.filter(at__gte=since)
    if until:
        events = events.filter(at__lt=until)
    return events.order_by("-seq")
