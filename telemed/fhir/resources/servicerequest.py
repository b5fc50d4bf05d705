"""ServiceRequest <-> the consultation request (mapping in ``telemed.consultations.fhir``).

id = the consultation number. A create makes a draft through
``consultations.services.create_draft`` as the client's institution (the Task says whether
to submit it); an update edits a draft or returned request through ``services.edit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from fhir.resources.R4B.servicerequest import ServiceRequest

from telemed.consultations import fhir as mapping
from telemed.consultations import services
from telemed.consultations.models import Consultation
from telemed.consultations.services import Request
from telemed.fhir.errors import FhirError
from telemed.fhir.models import ExternalIdentifier
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
from telemed.fhir.systems import NUMBER

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.resources import ResourceType as Kind

STATES_OF_STATUS = reverse(
    {state: mapping.REQUEST_STATUS.get(state, "active") for state in mapping.TASK_STATUS}
)


class ServiceRequestType(ResourceType):
    name = "ServiceRequest"
    model = ServiceRequest
    interactions = ("read", "vread", "search-type", "create", "update")
    search_params = {
        "_id": "token",
        "identifier": "token",
        "patient": "reference",
        "subject": "reference",
        "status": "token",
        "requester": "reference",
        "authored": "date",
        "_lastUpdated": "date",
    }
    includes = {"ServiceRequest:subject": "Patient", "ServiceRequest:patient": "Patient"}
    conditional_create = True
    audit_type = "consultation"

    def get(self, user: User, resource_id: str) -> Consultation:
        return case_by_number(user, resource_id)

    def resolve(self, user: User, resource_id: str) -> Consultation:
        return case_by_number(user, resource_id, audit_read=False)

    def patient_id(self, obj: Consultation) -> int | None:
        return int(obj.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Consultation]:
        found = cases(user).annotate(fhir_authored=Coalesce("submitted_at", "created_at"))
        for name, values in query.match.items():
            for value in values:
                found = found.filter(_condition(name, value))
        return found.order_by("pk")

    def render(self, obj: Consultation) -> dict[str, Any]:
        data = mapping.to_json(mapping.service_request(obj))
        theirs = ExternalIdentifier.objects.filter(
            resource_type=self.name, resource_id=obj.number
        ).order_by("pk")
        data["identifier"] += [{"system": e.system, "value": e.value} for e in theirs]
        return data

    def include(self, obj: Consultation, name: str) -> list[tuple[Kind, str]]:
        from telemed.fhir.resources.patient import PATIENT

        return [(PATIENT, str(obj.patient.mpi_id))]

    def lock(self, obj: Consultation) -> None:
        lock_case(obj)

    def create(self, user: User, resource: ServiceRequest) -> Consultation:
        incoming = _incoming(user, resource)
        patient = _subject(user, resource)
        case = services.create_draft(user, patient.pk, incoming)
        _keep_identifiers(case, resource)
        return case

    def update(self, user: User, obj: Consultation, resource: ServiceRequest) -> Consultation:
        incoming = _incoming(user, resource)
        patient = _subject(user, resource)
        if patient.pk != obj.patient_id:
            raise FhirError(
                422,
                "business-rule",
                _("The patient of a consultation request cannot be changed"),
                expression=["ServiceRequest.subject"],
            )
        return services.edit(user, obj.pk, incoming)


def _subject(user: User, resource: ServiceRequest) -> Any:
    return referenced(user, resource.subject, "Patient", "ServiceRequest.subject")[1]


def _incoming(user: User, resource: ServiceRequest) -> Request:
    try:
        incoming = mapping.request_from_service_request(resource)
    except ValueError as error:
        raise FhirError(422, "invalid", str(error), expression=["ServiceRequest"]) from None
    own = user.institution.code if user.institution is not None else None
    if incoming.requesting_institution not in (None, own):
        raise FhirError(
            422,
            "business-rule",
            _("A consultation can be requested only for your own institution"),
            expression=["ServiceRequest.requester"],
        )
    return incoming.request


def _keep_identifiers(case: Consultation, resource: ServiceRequest) -> None:
    """Record the system's own identifiers of the request (its order number); one that
    already names another consultation of the institution is refused."""
    for identifier in resource.identifier or ():
        system, value = str(identifier.system or ""), str(identifier.value or "")
        if not system or not value or system == NUMBER:
            continue
        try:
            with transaction.atomic():
                ExternalIdentifier.objects.create(
                    institution=case.requesting_institution,
                    resource_type="ServiceRequest",
                    system=system[:200],
                    value=value[:200],
                    resource_id=case.number,
                )
        except IntegrityError:
            raise FhirError(
                409,
                "duplicate",
                _("The identifier %(system)s|%(value)s already names another request")
                % {"system": system[:100], "value": value[:100]},
                expression=["ServiceRequest.identifier"],
            ) from None


def _condition(name: str, value: str) -> Q:
    if name in ("patient", "subject"):
        return patient_condition("", value)
    if name == "_id":
        return number_condition("", value, "ServiceRequest")
    if name == "identifier":
        condition = Q(pk__in=[])
        for option in alternatives(value):
            system, code = token(option)
            if system in (None, NUMBER):
                condition |= Q(number=code)
            theirs = ExternalIdentifier.objects.filter(resource_type="ServiceRequest", value=code)
            if system is not None:
                theirs = theirs.filter(system=system)
            # Narrows the caller's scoped query: another institution's ids match nothing.
            condition |= Q(number__in=theirs.values("resource_id"))
        return condition
    if name == "status":
        states = [s for option in alternatives(value) for s in STATES_OF_STATUS.get(option, [])]
        return Q(state__in=states)
    if name == "requester":
        ids = [reference_id(option, "Practitioner") for option in alternatives(value)]
        return Q(requested_by__practitioner_id__in=[i for i in ids if i.isdigit()])
    if name == "authored":
        return date_filter("fhir_authored", value, is_datetime=True)
    return date_filter("updated_at", value, is_datetime=True)  # _lastUpdated


SERVICE_REQUEST = register(ServiceRequestType())
