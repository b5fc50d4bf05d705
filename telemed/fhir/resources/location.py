"""Location <-> a consultation or reading room (id = its row id; identifier
``<institution code>/<room code>`` as the Appointment mapping names it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.location import Location

from telemed.directory.models import ConsultationRoom
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.directory import (
    ROOM_KIND,
    by_pk,
    ids_condition,
    name_condition,
    organization_reference,
)
from telemed.fhir.search import alternatives, token
from telemed.fhir.systems import ROOM_ID

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.search import Query


class LocationType(ResourceType):
    name = "Location"
    model = Location
    search_params = {
        "_id": "token",
        "identifier": "token",
        "name": "string",
        "organization": "reference",
        "type": "token",
    }

    def _all(self) -> QuerySet[ConsultationRoom]:
        return ConsultationRoom.objects.select_related("institution")

    def get(self, user: User, resource_id: str) -> ConsultationRoom:
        return by_pk(self._all(), resource_id)

    def search(self, user: User, query: Query) -> QuerySet[ConsultationRoom]:
        found = self._all()
        for name, values in query.match.items():
            for value in values:
                if name == "_id":
                    found = found.filter(ids_condition(value))
                elif name == "identifier":
                    pairs = [token(o)[1].split("/", 1) for o in alternatives(value)]
                    codes = [(p[0], p[1]) for p in pairs if len(p) == 2]
                    condition = found.none()
                    for institution, code in codes:
                        condition = condition | found.filter(
                            institution__code=institution, code=code
                        )
                    found = condition
                elif name == "name":
                    found = found.filter(name_condition(value))
                elif name == "organization":
                    found = found.filter(
                        ids_condition(
                            ",".join(o.rsplit("/", 1)[-1] for o in alternatives(value)),
                            "institution_id",
                        )
                    )
                else:
                    found = found.filter(kind__in=[token(o)[1] for o in alternatives(value)])
        return found.order_by("pk")

    def render(self, obj: ConsultationRoom) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resourceType": "Location",
            "id": str(obj.pk),
            "identifier": [{"system": ROOM_ID, "value": f"{obj.institution.code}/{obj.code}"}],
            "status": "active" if obj.active else "inactive",
            "name": obj.name,
            "mode": "instance",
            "type": [
                {
                    "coding": [
                        {
                            "system": ROOM_KIND,
                            "code": obj.kind,
                            "display": str(obj.get_kind_display()),
                        }
                    ]
                }
            ],
            "managingOrganization": organization_reference(obj.institution),
        }
        if obj.name_en:
            data["alias"] = [obj.name_en]
        return self.validated(data)


LOCATION = register(LocationType())
