"""What the directory types share. The directory (institutions, practitioners, rooms) is
not patient data: it is readable by every client and not scoped or audited per read."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from telemed.core.errors import NotFound
from telemed.fhir.search import alternatives, token

TIER = "urn:telemed:tier"
TITLE = "urn:telemed:practitioner-title"
ROOM_KIND = "urn:telemed:room-kind"


def by_pk(queryset: Any, resource_id: str) -> Any:
    found = queryset.filter(pk=int(resource_id)).first() if resource_id.isdigit() else None
    if found is None:
        raise NotFound(_("Not found"))
    return found


def ids_condition(value: str, field: str = "pk") -> Q:
    ids = [int(option) for option in alternatives(value) if option.isdigit()]
    return Q(**{f"{field}__in": ids})


def active_condition(value: str) -> Q:
    return Q(active=token(value)[1] == "true")


def name_condition(value: str, fields: tuple[str, ...] = ("name", "name_en")) -> Q:
    condition = Q(pk__in=[])
    for option in alternatives(value):
        for field in fields:
            condition |= Q(**{f"{field}__icontains": option})
    return condition


def organization_reference(institution: Any) -> dict[str, Any]:
    from telemed.fhir.systems import INSTITUTION_ID

    return {
        "reference": f"Organization/{institution.pk}",
        "identifier": {"system": INSTITUTION_ID, "value": institution.code},
        "display": institution.name,
    }
