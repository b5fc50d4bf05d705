"""One module per FHIR resource type, each mapping the platform's models to and from FHIR.

A module defines a ``ResourceType`` subclass and registers it; the dispatcher, the
transaction processor and the CapabilityStatement ask the registry what is served, so the
CapabilityStatement lists exactly the types and interactions that have code behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import NotFound
from telemed.fhir.errors import FhirError
from telemed.fhir.search import Query

if TYPE_CHECKING:
    from telemed.accounts.models import User

READ_ONLY = ("read", "vread", "search-type")


class ResourceType:
    """A served type. Subclasses set the class attributes and implement what they serve:
    ``get`` and ``search`` always (scoped and audited), ``create``/``update`` when listed
    in ``interactions``."""

    name: ClassVar[str]
    model: ClassVar[type[Resource]]
    interactions: ClassVar[tuple[str, ...]] = READ_ONLY
    # name -> FHIR search parameter type, for parsing and for the CapabilityStatement.
    search_params: ClassVar[dict[str, str]] = {}
    # ``Type:param`` -> the type it brings in.
    includes: ClassVar[dict[str, str]] = {}
    conditional_create: ClassVar[bool] = False
    # The audit trail's object type for reads and searches.
    audit_type: ClassVar[str] = ""

    def get(self, user: User, resource_id: str) -> Any:
        """The object behind ``Type/resource_id`` in the user's scope; NotFound otherwise
        (and the read, or the refusal, is audited)."""
        raise NotImplementedError

    def resolve(self, user: User, resource_id: str) -> Any:
        """As ``get``, for a reference inside a write: scoped the same way, a refusal
        audited, but no read event of its own (the write's event names the patient)."""
        return self.get(user, resource_id)

    def search(self, user: User, query: Query) -> QuerySet[Any]:
        """The matches in the user's scope, in a stable order (for paging)."""
        raise NotImplementedError

    def conditional_matches(self, user: User, query: Query) -> QuerySet[Any]:
        """What ``If-None-Exist`` counts as already existing (the search, by default)."""
        return self.search(user, query)

    def render(self, obj: Any) -> dict[str, Any]:
        """The FHIR JSON of ``obj``, validated."""
        raise NotImplementedError

    def create(self, user: User, resource: Any) -> Any:
        raise NotImplementedError

    def update(self, user: User, obj: Any, resource: Any) -> Any:
        raise NotImplementedError

    def include(self, obj: Any, name: str) -> list[tuple[ResourceType, str]]:
        """The resources ``_include=<name>`` brings in for ``obj``, as (type, id); the
        caller reads each through its own type's scoped ``get``."""
        return []

    def lock(self, obj: Any) -> None:
        """Lock the row behind ``obj`` (inside the caller's transaction), so that an
        ``If-Match`` check and the write that follows it see the same version."""

    def patient_id(self, obj: Any) -> int | None:
        """The platform's patient id behind ``obj``, for the audit trail."""
        return None

    # -- helpers shared by the modules ---------------------------------------------------

    def validated(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (our output, JSON-ready), checked by fhir.resources: a mapping that
        strays from R4 fails here, in tests, rather than at a partner."""
        self.model.model_validate(data)
        return data

    def parse(self, data: dict[str, Any]) -> Any:
        """An incoming resource, validated: 422 naming each problem when it does not fit."""
        if data.get("resourceType") != self.name:
            raise FhirError(
                400,
                "invalid",
                _("Expected a %(expected)s resource, got %(got)s")
                % {"expected": self.name, "got": str(data.get("resourceType") or "nothing")},
                expression=["resourceType"],
            )
        try:
            return self.model.model_validate(data)
        except ValidationError as error:
            raise invalid_resource(self.name, error) from None

    def audit_search(self, user: User, query: Query, results: int) -> None:
        if not self.audit_type:
            return  # the directory is not patient data
        audit.record(
            user,
            Action.SEARCH,
            object_type=self.audit_type or self.name.lower(),
            detail={
                "fhir": self.name,
                "query": {k: v for k, v in list(query.match.items())[:10]},
                "results": results,
            },
        )


def invalid_resource(name: str, error: ValidationError) -> FhirError:
    issues = [
        {
            "severity": "error",
            "code": "invalid",
            "diagnostics": str(problem.get("msg", ""))[:300],
            "expression": [
                ".".join(
                    [name, *(str(part) for part in problem.get("loc", ()) if part != "__root__")]
                )
            ],
        }
        for problem in error.errors()[:20]
    ]
    return FhirError(
        422,
        "invalid",
        _("The %(type)s resource is not valid FHIR R4") % {"type": name},
        issues=issues,
    )


_registry: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> ResourceType:
    _registry[resource_type.name] = resource_type
    return resource_type


def served() -> dict[str, ResourceType]:
    _load_all()
    return dict(sorted(_registry.items()))


def lookup(name: str) -> ResourceType:
    _load_all()
    found = _registry.get(name)
    if found is None:
        raise FhirError(
            404,
            "not-supported",
            _("Resource type %(type)s is not served here") % {"type": name[:60]},
        )
    return found


def not_found(name: str, resource_id: str) -> FhirError:
    return FhirError(
        404,
        "not-found",
        _("%(type)s/%(id)s is not known") % {"type": name, "id": resource_id[:64]},
    )


def referenced(user: User, reference: Any, expected: str, where: str) -> tuple[ResourceType, Any]:
    """Resolve a Reference in an incoming resource to an object in the user's scope.

    ``Type/id`` only (transaction ``urn:uuid:`` references are rewritten to that form first).
    A reference to something outside the scope is refused as unknown (422), like one to
    something that does not exist, so a write cannot probe another institution's records."""
    text = str(getattr(reference, "reference", None) or "")
    if "/" not in text:
        raise FhirError(
            422,
            "required",
            _("%(where)s must reference a %(type)s as %(type)s/id")
            % {"where": where, "type": expected},
            expression=[where],
        )
    type_name, resource_id = text.rstrip("/").split("/")[-2:]
    if type_name != expected:
        raise FhirError(
            422,
            "invalid",
            _("%(where)s must reference a %(type)s") % {"where": where, "type": expected},
            expression=[where],
        )
    kind = lookup(type_name)
    try:
        return kind, kind.resolve(user, resource_id)
    except NotFound:
        raise FhirError(
            422,
            "not-found",
            _("%(where)s references %(reference)s, which is not known")
            % {"where": where, "reference": text[:120]},
            expression=[where],
        ) from None


_loaded = False


def _load_all() -> None:
    # A flag, not "is the registry empty": importing one module registers that type alone.
    global _loaded
    if _loaded:
        return
    _loaded = True
    from telemed.fhir.resources import (  # noqa: F401 - each module registers its type
        appointment,
        auditevent,
        communication,
        diagnosticreport,
        documentreference,
        imagingstudy,
        location,
        observation,
        organization,
        patient,
        practitioner,
        practitionerrole,
        servicerequest,
        task,
    )
