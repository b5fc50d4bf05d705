"""Appointment <-> a scheduled consultation (expert and room booked); read and search only,
since scheduling is the consultation manager's step on the platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.appointment import Appointment

from telemed.consultations import fhir as mapping
from telemed.consultations.models import Consultation
from telemed.core.errors import NotFound
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.cases import (
    case_by_number,
    cases,
    number_condition,
    patient_condition,
    reverse,
)
from telemed.fhir.search import Query, alternatives, date_filter

if TYPE_CHECKING:
    from telemed.accounts.models import User

STATES_OF_STATUS = reverse(
    {state: mapping.APPOINTMENT_STATUS.get(state, "booked") for state in mapping.TASK_STATUS}
)


class AppointmentType(ResourceType):
    name = "Appointment"
    model = Appointment
    search_params = {
        "_id": "token",
        "patient": "reference",
        "status": "token",
        "date": "date",
        "based-on": "reference",
    }
    audit_type = "consultation"

    def get(self, user: User, resource_id: str) -> Consultation:
        case = case_by_number(user, resource_id)
        if case.scheduled_start is None or case.assigned_expert_id is None:
            raise NotFound("not scheduled")
        return case

    def patient_id(self, obj: Consultation) -> int | None:
        return int(obj.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Consultation]:
        found = cases(user).filter(
            scheduled_start__isnull=False,
            scheduled_end__isnull=False,
            assigned_expert__isnull=False,
        )
        for name, values in query.match.items():
            for value in values:
                if name == "patient":
                    found = found.filter(patient_condition("", value))
                elif name in ("_id", "based-on"):
                    found = found.filter(
                        number_condition(
                            "", value, "ServiceRequest" if name == "based-on" else "Appointment"
                        )
                    )
                elif name == "status":
                    found = found.filter(
                        state__in=[
                            s for o in alternatives(value) for s in STATES_OF_STATUS.get(o, [])
                        ]
                    )
                else:
                    found = found.filter(date_filter("scheduled_start", value, is_datetime=True))
        return found.order_by("pk")

    def render(self, obj: Consultation) -> dict[str, Any]:
        return mapping.to_json(mapping.appointment(obj))


APPOINTMENT = register(AppointmentType())
