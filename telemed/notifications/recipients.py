"""Who is responsible for an institution's cases: the staff of a role whose scope covers it.

``accounts.scoping.scope_for`` stays the one judge. The query here only narrows the
candidates to those who could be covering (the province centre's staff, the institution's own,
the staff of the city sub-centres and the supervisors of the regions above it), so that a
province with nineteen cities does not compute every manager's scope for every event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q

from telemed.accounts.scoping import scope_for
from telemed.directory.models import Institution, Tier

if TYPE_CHECKING:
    from telemed.accounts.models import User


def _ancestor_codes(path: str) -> list[str]:
    return [code for code in path.split("/") if code]


def staff_covering(role: str, institution_ids: Iterable[int | None]) -> list[User]:
    """Active users of ``role`` whose scope covers any of the institutions."""
    from telemed.accounts.models import User

    ids = {pk for pk in institution_ids if pk is not None}
    if not ids:
        return []
    codes: set[str] = set()
    for path in Institution.objects.filter(pk__in=ids, region__isnull=False).values_list(
        "region__path", flat=True
    ):
        codes.update(_ancestor_codes(path))
    candidates = (
        User.objects.filter(role=role, is_active=True)
        .filter(
            Q(institution__tier=Tier.PROVINCE_CENTRE)
            | Q(institution_id__in=ids)
            | Q(institution__region__code__in=codes)
            | Q(supervised_region__code__in=codes)
        )
        .select_related("institution__region", "supervised_region")
        .order_by("pk")
    )
    return [
        user for user in candidates if any(scope_for(user).covers_institution(pk) for pk in ids)
    ]
