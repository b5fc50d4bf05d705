"""PractitionerRole <-> a practitioner's post: institution, department, specialties
(id = the practitioner's row id: the directory holds one post per practitioner)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from fhir.resources.R4B.practitionerrole import PractitionerRole

from telemed.consultations.fhir import SPECIALTY
from telemed.directory.models import Practitioner
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.directory import (
    TITLE,
    active_condition,
    by_pk,
    ids_condition,
    organization_reference,
)
from telemed.fhir.search import alternatives, token

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.search import Query


class PractitionerRoleType(ResourceType):
    name = "PractitionerRole"
    model = PractitionerRole
    search_params = {
        "_id": "token",
        "practitioner": "reference",
        "organization": "reference",
        "specialty": "token",
        "active": "token",
    }

    def _all(self) -> QuerySet[Practitioner]:
        return Practitioner.objects.select_related(
            "institution", "department__specialty"
        ).prefetch_related("specialties")

    def get(self, user: User, resource_id: str) -> Practitioner:
        return by_pk(self._all(), resource_id)

    def search(self, user: User, query: Query) -> QuerySet[Practitioner]:
        found = self._all()
        for name, values in query.match.items():
            for value in values:
                if name in ("_id", "practitioner"):
                    found = found.filter(
                        ids_condition(",".join(o.rsplit("/", 1)[-1] for o in alternatives(value)))
                    )
                elif name == "organization":
                    found = found.filter(
                        ids_condition(
                            ",".join(o.rsplit("/", 1)[-1] for o in alternatives(value)),
                            "institution_id",
                        )
                    )
                elif name == "specialty":
                    codes = [token(o)[1] for o in alternatives(value)]
                    found = found.filter(
                        Q(specialties__code__in=codes) | Q(department__specialty__code__in=codes)
                    ).distinct()
                else:
                    found = found.filter(active_condition(value))
        return found.order_by("pk")

    def render(self, obj: Practitioner) -> dict[str, Any]:
        specialties = {s.code: s for s in obj.specialties.all()}
        if obj.department is not None and obj.department.specialty is not None:
            specialties.setdefault(obj.department.specialty.code, obj.department.specialty)
        data: dict[str, Any] = {
            "resourceType": "PractitionerRole",
            "id": str(obj.pk),
            "active": obj.active,
            "practitioner": {"reference": f"Practitioner/{obj.pk}", "display": obj.name},
            "organization": organization_reference(obj.institution),
            "code": [
                {
                    "coding": [
                        {
                            "system": TITLE,
                            "code": obj.title,
                            "display": str(obj.get_title_display()),
                        }
                    ]
                }
            ],
        }
        if specialties:
            data["specialty"] = [
                {"coding": [{"system": SPECIALTY, "code": code, "display": s.name}]}
                for code, s in sorted(specialties.items())
            ]
        return self.validated(data)


PRACTITIONER_ROLE = register(PractitionerRoleType())
