"""Who may see which patients: the one place that decides.

Own institution for most roles; experts see what is assigned to them (access grants written
by the workflows that assign them); managers, quality control, supervisors and administrators
see their region (a city sub-centre's staff: that city's institutions; the province centre's:
everything); a patient sees their own record. Every app's ``visible_to(user)`` builds on
``scope_for``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telemed.accounts.models import Role
from telemed.directory.models import Institution, Tier

if TYPE_CHECKING:
    from telemed.accounts.models import User

REGIONAL_ROLES = frozenset(
    {Role.CONSULTATION_MANAGER, Role.QUALITY_CONTROL, Role.SUPERVISOR, Role.ADMINISTRATOR}
)
INSTITUTION_ROLES = frozenset(
    {Role.REQUESTING_DOCTOR, Role.PHARMACIST, Role.EDUCATION_MANAGER, Role.SYSTEM}
)


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    institution_ids: frozenset[int] = field(default_factory=frozenset)
    grantee_user_id: int | None = None
    patient_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.everything or self.institution_ids or self.grantee_user_id or self.patient_id
        )

    def covers_institution(self, institution_id: int | None) -> bool:
        return self.everything or (
            institution_id is not None and institution_id in self.institution_ids
        )


NOTHING = Scope()


def scope_for(user: User | None) -> Scope:
    """The user's scope, computed once per user object (one request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    cached = getattr(user, "_telemed_scope", None)
    if cached is not None:
        return cached
    scope = _compute(user)
    user._telemed_scope = scope  # type: ignore[attr-defined]
    return scope


def _compute(user: User) -> Scope:
    if user.role == Role.PATIENT:
        return Scope(patient_id=user.patient_id) if user.patient_id else NOTHING
    if user.role == Role.EXPERT:
        return Scope(grantee_user_id=user.pk)
    institution = user.institution
    if institution is None:
        return NOTHING
    if user.role in INSTITUTION_ROLES:
        return Scope(institution_ids=frozenset({institution.pk}))
    if user.role in REGIONAL_ROLES:
        region = user.supervised_region if user.role == Role.SUPERVISOR else None
        if region is None:
            if institution.tier == Tier.PROVINCE_CENTRE:
                return Scope(everything=True)
            if institution.tier != Tier.CITY_SUBCENTRE or institution.region is None:
                return Scope(institution_ids=frozenset({institution.pk}))
            region = institution.region
        if region.parent_id is None:
            return Scope(everything=True)
        # The region alone: a supervisor employed by the province but overseeing one city
        # sees that city, not the province's own patients.
        ids = Institution.objects.filter(region__path__startswith=region.path).values_list(
            "pk", flat=True
        )
        return Scope(institution_ids=frozenset(ids))
    return NOTHING
