"""Organization <-> an institution of the network (id = its row id, since institution codes
hold ``_``, which a FHIR id may not; the code is the identifier)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.organization import Organization

from telemed.directory.models import Institution
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.directory import (
    TIER,
    active_condition,
    by_pk,
    ids_condition,
    name_condition,
    organization_reference,
)
from telemed.fhir.search import alternatives, token
from telemed.fhir.systems import INSTITUTION_ID

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.search import Query


class OrganizationType(ResourceType):
    name = "Organization"
    model = Organization
    search_params = {
        "_id": "token",
        "identifier": "token",
        "name": "string",
        "type": "token",
        "partof": "reference",
        "active": "token",
    }

    def _all(self) -> QuerySet[Institution]:
        return Institution.objects.select_related("parent")

    def get(self, user: User, resource_id: str) -> Institution:
        return by_pk(self._all(), resource_id)

    def search(self, user: User, query: Query) -> QuerySet[Institution]:
        found = self._all()
        for name, values in query.match.items():
            for value in values:
                if name == "_id":
                    found = found.filter(ids_condition(value))
                elif name == "identifier":
                    codes = [
                        token(o)[1]
                        for o in alternatives(value)
                        if token(o)[0] in (None, INSTITUTION_ID)
                    ]
                    found = found.filter(code__in=codes)
                elif name == "name":
                    found = found.filter(name_condition(value))
                elif name == "type":
                    found = found.filter(tier__in=[token(o)[1] for o in alternatives(value)])
                elif name == "partof":
                    found = found.filter(ids_condition(value.rsplit("/", 1)[-1], "parent_id"))
                else:
                    found = found.filter(active_condition(value))
        return found.order_by("pk")

    def render(self, obj: Institution) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resourceType": "Organization",
            "id": str(obj.pk),
            "identifier": [{"system": INSTITUTION_ID, "value": obj.code}],
            "active": obj.active,
            "type": [
                {
                    "coding": [
                        {"system": TIER, "code": obj.tier, "display": str(obj.get_tier_display())}
                    ]
                }
            ],
            "name": obj.name,
        }
        if obj.name_en:
            data["alias"] = [obj.name_en]
        if obj.parent is not None:
            data["partOf"] = organization_reference(obj.parent)
        if obj.phone:
            data["telecom"] = [{"system": "phone", "value": obj.phone}]
        if obj.address:
            data["address"] = [{"text": obj.address}]
        return self.validated(data)


ORGANIZATION = register(OrganizationType())
