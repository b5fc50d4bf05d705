"""Task <-> the consultation's place in the workflow (mapping in
``telemed.consultations.fhir``): ``status`` is FHIR's, ``businessStatus`` our exact state.

id = the consultation number, as the ServiceRequest's. The requester's system moves the
case only in the requester's steps: a Task created (or updated) with status ``requested``
submits the draft; ``cancelled`` withdraws it. Every other step belongs to the platform's
people, and the HIS follows them by reading the Task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from fhir.resources.R4B.task import Task

from telemed.consultations import fhir as mapping
from telemed.consultations import services
from telemed.consultations.models import Consultation
from telemed.consultations.states import State
from telemed.fhir.errors import FhirError
from telemed.fhir.resources import ResourceType, referenced, register
from telemed.fhir.resources.cases import (
    case_by_number,
    cases,
    lock_case,
    number_condition,
    patient_condition,
    reverse,
)
from telemed.fhir.search import Query, alternatives, date_filter, reference_id, token
from telemed.fhir.systems import NUMBER, USER_ID

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.resources import ResourceType as Kind

STATES_OF_STATUS = reverse(mapping.TASK_STATUS)


class TaskType(ResourceType):
    name = "Task"
    model = Task
    interactions = ("read", "vread", "search-type", "create", "update")
    search_params = {
        "_id": "token",
        "identifier": "token",
        "patient": "reference",
        "subject": "reference",
        "focus": "reference",
        "status": "token",
        "business-status": "token",
        "owner": "reference",
        "authored-on": "date",
        "modified": "date",
        "_lastUpdated": "date",
    }
    includes = {"Task:focus": "ServiceRequest", "Task:patient": "Patient"}
    conditional_create = True
    audit_type = "consultation"

    def get(self, user: User, resource_id: str) -> Consultation:
        return case_by_number(user, resource_id)

    def resolve(self, user: User, resource_id: str) -> Consultation:
        return case_by_number(user, resource_id, audit_read=False)

    def patient_id(self, obj: Consultation) -> int | None:
        return int(obj.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Consultation]:
        found = cases(user)
        for name, values in query.match.items():
            for value in values:
                found = found.filter(_condition(name, value))
        return found.order_by("pk")

    def conditional_matches(self, user: User, query: Query) -> QuerySet[Consultation]:
        # A draft's Task is what creating the Task makes of it (the submission), so a case
        # still in draft holds no Task yet for If-None-Exist.
        return self.search(user, query).exclude(state=State.DRAFT)

    def render(self, obj: Consultation) -> dict[str, Any]:
        return mapping.to_json(mapping.task(obj))

    def include(self, obj: Consultation, name: str) -> list[tuple[Kind, str]]:
        from telemed.fhir.resources.patient import PATIENT
        from telemed.fhir.resources.servicerequest import SERVICE_REQUEST

        if name == "Task:focus":
            return [(SERVICE_REQUEST, obj.number)]
        return [(PATIENT, str(obj.patient.mpi_id))]

    def lock(self, obj: Consultation) -> None:
        lock_case(obj)

    def create(self, user: User, resource: Task) -> Consultation:
        case = referenced(user, resource.focus, "ServiceRequest", "Task.focus")[1]
        self._check_patient(case, resource)
        if case.state != State.DRAFT:
            raise FhirError(
                409,
                "duplicate",
                _("Consultation %(number)s already has its Task; update it instead")
                % {"number": case.number},
                expression=["Task.focus"],
            )
        return self._move(user, case, resource)

    def update(self, user: User, obj: Consultation, resource: Task) -> Consultation:
        if resource.focus is not None:
            focus = referenced(user, resource.focus, "ServiceRequest", "Task.focus")[1]
            if focus.pk != obj.pk:
                raise FhirError(
                    422,
                    "business-rule",
                    _("Task.focus must stay the consultation's own request"),
                    expression=["Task.focus"],
                )
        self._check_patient(obj, resource)
        return self._move(user, obj, resource)

    def _check_patient(self, case: Consultation, resource: Task) -> None:
        subject = resource.for_fhir
        if (
            subject is not None
            and subject.reference
            and reference_id(str(subject.reference), "Patient") != str(case.patient.mpi_id)
        ):
            raise FhirError(
                422,
                "business-rule",
                _("Task.for must be the patient of the consultation"),
                expression=["Task.for"],
            )

    def _move(self, user: User, case: Consultation, resource: Task) -> Consultation:
        wanted = str(resource.status)
        if wanted == mapping.TASK_STATUS[State(case.state)]:
            return case
        if wanted == "requested" and case.state in (State.DRAFT, State.RETURNED):
            return services.submit(user, case.pk)
        if wanted == "cancelled":
            reason = (
                str(resource.statusReason.text)
                if resource.statusReason and resource.statusReason.text
                else ""
            )
            return services.withdraw(
                user, case.pk, reason or _("Withdrawn by the requesting system")
            )
        raise FhirError(
            422,
            "business-rule",
            _(
                "The requesting system can set a Task's status only to requested (submit) or "
                "cancelled (withdraw); %(status)s is set by the platform"
            )
            % {"status": wanted},
            expression=["Task.status"],
        )


def _condition(name: str, value: str) -> Q:
    if name in ("patient", "subject"):
        return patient_condition("", value)
    if name in ("_id", "focus"):
        return number_condition("", value, "ServiceRequest" if name == "focus" else "Task")
    if name == "identifier":
        numbers = [token(o)[1] for o in alternatives(value) if token(o)[0] in (None, NUMBER)]
        return Q(number__in=numbers)
    if name == "status":
        return Q(state__in=[s for o in alternatives(value) for s in STATES_OF_STATUS.get(o, [])])
    if name == "business-status":
        return Q(state__in=[token(o)[1] for o in alternatives(value)])
    if name == "owner":
        condition = Q(pk__in=[])
        for option in alternatives(value):
            system, code = token(option)
            if system == USER_ID and code.isdigit():
                condition |= Q(assigned_expert_id=int(code))
            elif system is None:
                practitioner = reference_id(code, "Practitioner")
                if practitioner.isdigit():
                    condition |= Q(assigned_expert__practitioner_id=int(practitioner))
        return condition
    if name == "authored-on":
        return date_filter("created_at", value, is_datetime=True)
    return date_filter("updated_at", value, is_datetime=True)  # modified, _lastUpdated


TASK = register(TaskType())
