"""Communication <-> a message in a case's thread (mapping in
``telemed.consultations.fhir``). id = ``<consultation number>-m<message id>``; read and
search (messages are posted by the people on the case)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from fhir.resources.R4B.communication import Communication

from telemed.consultations import fhir as mapping
from telemed.consultations.models import Message
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.cases import patient_condition, read_audited
from telemed.fhir.search import Query, alternatives, date_filter, reference_id

if TYPE_CHECKING:
    from telemed.accounts.models import User


def _split(resource_id: str) -> tuple[str, int] | None:
    number, _sep, pk = resource_id.rpartition("-m")
    return (number, int(pk)) if number and pk.isdigit() else None


class CommunicationType(ResourceType):
    name = "Communication"
    model = Communication
    search_params = {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "based-on": "reference",
        "sent": "date",
    }
    audit_type = "message"

    def _messages(self, user: User) -> QuerySet[Message]:
        return Message.objects.visible_to(user).select_related(
            "consultation__patient", "author__institution"
        )

    def get(self, user: User, resource_id: str) -> Message:
        parts = _split(resource_id)
        found = None
        if parts is not None:
            found = (
                self._messages(user).filter(consultation__number=parts[0][:24], pk=parts[1]).first()
            )
        return read_audited(user, found, self.audit_type, resource_id)

    def patient_id(self, obj: Message) -> int | None:
        return int(obj.consultation.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Message]:
        found = self._messages(user)
        for name, values in query.match.items():
            for value in values:
                if name in ("patient", "subject"):
                    found = found.filter(patient_condition("consultation__", value))
                elif name == "based-on":
                    numbers = [reference_id(o, "ServiceRequest") for o in alternatives(value)]
                    found = found.filter(consultation__number__in=numbers)
                elif name == "_id":
                    condition = Q(pk__in=[])
                    for option in alternatives(value):
                        parts = _split(option)
                        if parts is not None:
                            condition |= Q(consultation__number=parts[0], pk=parts[1])
                    found = found.filter(condition)
                else:
                    found = found.filter(date_filter("at", value, is_datetime=True))
        return found.order_by("pk")

    def render(self, obj: Message) -> dict[str, Any]:
        return mapping.to_json(mapping.communication(obj))


COMMUNICATION = register(CommunicationType())
