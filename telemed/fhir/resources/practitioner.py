"""Practitioner <-> a practitioner of the directory (id = its row id, as the consultation
mappings reference it), with the title as qualification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from telemed.directory.models import Practitioner
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.directory import (
    TITLE,
    active_condition,
    by_pk,
    ids_condition,
    name_condition,
)
from telemed.fhir.search import alternatives, token
from telemed.fhir.systems import PRACTITIONER_ID

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.search import Query


class PractitionerType(ResourceType):
    name = "Practitioner"
    model = FhirPractitioner
    search_params = {"_id": "token", "identifier": "token", "name": "string", "active": "token"}

    def get(self, user: User, resource_id: str) -> Practitioner:
        return by_pk(Practitioner.objects.all(), resource_id)

    def search(self, user: User, query: Query) -> QuerySet[Practitioner]:
        found = Practitioner.objects.all()
        for name, values in query.match.items():
            for value in values:
                if name in ("_id", "identifier"):
                    if name == "identifier":
                        value = ",".join(
                            token(o)[1]
                            for o in alternatives(value)
                            if token(o)[0] in (None, PRACTITIONER_ID)
                        )
                    found = found.filter(ids_condition(value))
                elif name == "name":
                    found = found.filter(name_condition(value))
                else:
                    found = found.filter(active_condition(value))
        return found.order_by("pk")

    def render(self, obj: Practitioner) -> dict[str, Any]:
        names = [{"use": "official", "text": obj.name}]
        if obj.name_en:
            names.append({"use": "usual", "text": obj.name_en})
        data = {
            "resourceType": "Practitioner",
            "id": str(obj.pk),
            "identifier": [{"system": PRACTITIONER_ID, "value": str(obj.pk)}],
            "active": obj.active,
            "name": names,
            "qualification": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": TITLE,
                                "code": obj.title,
                                "display": str(obj.get_title_display()),
                            }
                        ]
                    }
                }
            ],
        }
        return self.validated(data)


PRACTITIONER = register(PractitionerType())
