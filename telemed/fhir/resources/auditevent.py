"""AuditEvent <-> the platform's hash-chained audit trail, read-only, scoped as the
auditor screen is (``audit.queries.visible_events``: administrators and supervisors over
their institutions; an API client's system account sees none). id = the sequence number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

from telemed.audit import services as audit
from telemed.audit.models import Action, AuditEvent
from telemed.audit.queries import visible_events
from telemed.core.errors import NotFound
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.search import alternatives, date_filter, token
from telemed.fhir.systems import INSTITUTION_ID, USER_ID

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.search import Query

ACTION_TYPE = "urn:telemed:audit-action"
OBJECT_TYPE = "urn:telemed:audit-object"
# Our action -> FHIR's AuditEventAction (C, R, U, D, E).
FHIR_ACTION: dict[str, str] = {
    Action.READ: "R",
    Action.SEARCH: "E",
    Action.CREATE: "C",
    Action.UPDATE: "U",
    Action.DELETE: "D",
}
# Our outcome -> AuditEventOutcome: 0 success, 4 minor failure (refused), 8 serious failure.
FHIR_OUTCOME = {"success": "0", "denied": "4", "failure": "8"}
OUTCOME_OF = {code: ours for ours, code in FHIR_OUTCOME.items()}


class AuditEventType(ResourceType):
    name = "AuditEvent"
    model = FhirAuditEvent
    search_params = {"_id": "token", "date": "date", "action": "token", "outcome": "token"}
    audit_type = "audit_event"

    def get(self, user: User, resource_id: str) -> AuditEvent:
        found = (
            visible_events(user).filter(seq=int(resource_id)).first()
            if resource_id.isdigit()
            else None
        )
        if found is None:
            audit.denied(
                user,
                Action.READ,
                object_type="audit_event",
                object_id=resource_id,
                reason="not an auditor of this event",
            )
            raise NotFound("Not found")
        audit.record(user, Action.READ, object_type="audit_event", object_id=found.seq)
        return found

    def search(self, user: User, query: Query) -> QuerySet[AuditEvent]:
        found = visible_events(user)
        for name, values in query.match.items():
            for value in values:
                options = [token(o)[1] for o in alternatives(value)]
                if name == "_id":
                    found = found.filter(seq__in=[int(o) for o in options if o.isdigit()])
                elif name == "action":
                    found = found.filter(action__in=options)
                elif name == "outcome":
                    found = found.filter(outcome__in=[OUTCOME_OF.get(o, o) for o in options])
                else:
                    found = found.filter(date_filter("at", value, is_datetime=True))
        return found.order_by("seq")

    def render(self, obj: AuditEvent) -> dict[str, Any]:
        who: dict[str, Any] = {"display": obj.actor or "system"}
        if obj.actor_id is not None:
            who["identifier"] = {"system": USER_ID, "value": str(obj.actor_id)}
        agent: dict[str, Any] = {"who": who, "requestor": True}
        if obj.role:
            agent["role"] = [{"coding": [{"system": "urn:telemed:role", "code": obj.role}]}]
        if obj.source_ip:
            agent["network"] = {"address": obj.source_ip, "type": "2"}
        data: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": str(obj.seq),
            "type": {"system": ACTION_TYPE, "code": obj.action},
            "recorded": obj.at.isoformat(),
            "outcome": FHIR_OUTCOME.get(obj.outcome, "8"),
            "agent": [agent],
            "source": {
                "observer": {"display": "telemed"},
                "type": [{"system": "urn:telemed:channel", "code": obj.channel or "system"}],
            },
        }
        if obj.action in FHIR_ACTION:
            data["action"] = FHIR_ACTION[obj.action]
        if obj.institution:
            data["source"]["site"] = obj.institution
            agent["location"] = {"identifier": {"system": INSTITUTION_ID, "value": obj.institution}}
        if obj.object_type:
            data["entity"] = [
                {
                    "what": {
                        "identifier": {
                            "system": OBJECT_TYPE,
                            "value": f"{obj.object_type}:{obj.object_id}",
                        }
                    },
                    "detail": [
                        {"type": "hash", "valueString": obj.hash},
                    ],
                }
            ]
        return self.validated(data)


AUDIT_EVENT = register(AuditEventType())
