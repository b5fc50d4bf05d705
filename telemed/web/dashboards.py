"""What each role's home page shows. Every patient read goes through patients.queries, every
consultation read through consultations.queries.

The consultation queues are real: a requester's recent requests and their states, the
quality-control queue, the manager's triage, scheduling and overdue lists, the expert's
worklist, the supervisor's counts. Prescriptions and lectures arrive with later parts; until
then those pages say plainly that there is nothing yet instead of showing invented numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet

from telemed.accounts.models import Role, User
from telemed.accounts.scoping import scope_for
from telemed.consultations import pages as consultation_pages
from telemed.consultations import queries as consultations
from telemed.core.errors import NotFound
from telemed.directory.models import ExpertProfile, Institution, Practitioner, Tier
from telemed.patients import queries as patients
from telemed.patients.models import ConsentKind, Patient

if TYPE_CHECKING:
    from telemed.directory.models import Region

Context = dict[str, object]


def institutions_in_scope(user: User) -> QuerySet[Institution]:
    scope = scope_for(user)
    found = Institution.objects.filter(active=True)
    return found if scope.everything else found.filter(pk__in=scope.institution_ids)


def by_tier(institutions: QuerySet[Institution]) -> list[tuple[str, str, int]]:
    """(tier, label, count) in the network's order, tiers without institutions left out."""
    counts = dict(institutions.values_list("tier").annotate(n=Count("pk")).values_list("tier", "n"))
    return [(tier.value, str(tier.label), counts[tier]) for tier in Tier if counts.get(tier)]


# How many cases a home page lists from each queue.
FIRST = 5


def _queue(found: QuerySet[Any], limit: int = FIRST) -> dict[str, object]:
    return {"items": list(found[:limit]), "total": found.count()}


def _requesting_doctor(user: User) -> Context:
    recent, total = patients.search_patients(user, limit=5)
    mine = consultations.requested_by_my_institution(user)
    return {
        "recent_patients": recent,
        "patient_total": total,
        "requests": _queue(mine),
        "request_counts": consultation_pages.count_by_state(mine),
        "overdue": consultation_pages.overdue_ids(user),
    }


def _expert(user: User) -> Context:
    assigned, total = patients.search_patients(user, limit=10)
    practitioner: Practitioner | None = user.practitioner
    profile = None
    if practitioner is not None:
        profile = ExpertProfile.objects.filter(practitioner=practitioner).first()
    return {
        "worklist": _queue(consultations.expert_worklist(user), limit=10),
        "assigned_patients": assigned,
        "assigned_total": total,
        "practitioner": practitioner,
        "profile": profile,
        "overdue": set(),
    }


def _regional_staff(user: User) -> Context:
    return {
        "patient_count": patients.visible_patients(user).count(),
        "institution_count": institutions_in_scope(user).count(),
    }


def _quality_control(user: User) -> Context:
    return {
        **_regional_staff(user),
        "qc_queue": _queue(consultations.quality_control_queue(user)),
        "overdue": consultation_pages.overdue_ids(user),
    }


def _consultation_manager(user: User) -> Context:
    return {
        **_regional_staff(user),
        "triage": _queue(consultations.triage_queue(user)),
        "scheduling": _queue(consultations.scheduling_queue(user)),
        "late": _queue(consultations.overdue(user)),
        "today": _queue(consultations.todays_board(user), limit=10),
        "overdue": consultation_pages.overdue_ids(user),
    }


def _pharmacist(user: User) -> Context:
    return {"patient_count": patients.visible_patients(user).count()}


def _education_manager(user: User) -> Context:
    # Lectures reach the whole network, so the audience is every member, not a scope.
    network = Institution.objects.filter(active=True)
    return {"tiers": by_tier(network), "institution_count": network.count()}


def _supervisor(user: User) -> Context:
    scoped = institutions_in_scope(user)
    return {
        "region": _supervised_region(user),
        "everything": scope_for(user).everything,
        "tiers": by_tier(scoped),
        "institution_count": scoped.count(),
        "patient_count": patients.visible_patients(user).count(),
        "consultation_counts": consultation_pages.count_by_state(consultations.visible(user)),
        "consultation_total": consultations.visible(user).count(),
        "overdue_total": consultations.overdue(user).count(),
    }


def _supervised_region(user: User) -> Region | None:
    if user.supervised_region is not None:
        return user.supervised_region
    return user.institution.region if user.institution is not None else None


def _administrator(user: User) -> Context:
    return {
        "institution_count": Institution.objects.count(),
        "practitioner_count": Practitioner.objects.count(),
        "user_count": User.objects.exclude(role=Role.SYSTEM).count(),
        "tiers": by_tier(Institution.objects.filter(active=True)),
    }


def _patient(user: User) -> Context:
    if user.patient_id is None:
        return {"patient": None}
    try:
        record = patients.get_patient(user, user.patient_id)
    except NotFound:
        return {"patient": None}
    return {
        "patient": record,
        "registrations": patients.registrations_of(user, record),
        "consents": consent_rows(record),
    }


def consent_rows(patient: Patient) -> list[tuple[str, bool | None]]:
    """(kind label, granted or None when never asked) for each kind of consent."""
    current = patients.current_consents(patient)
    return [(str(kind.label), current.get(kind.value)) for kind in ConsentKind]


BUILDERS: dict[str, Callable[[User], Context]] = {
    Role.REQUESTING_DOCTOR: _requesting_doctor,
    Role.EXPERT: _expert,
    Role.QUALITY_CONTROL: _quality_control,
    Role.CONSULTATION_MANAGER: _consultation_manager,
    Role.PHARMACIST: _pharmacist,
    Role.EDUCATION_MANAGER: _education_manager,
    Role.SUPERVISOR: _supervisor,
    Role.ADMINISTRATOR: _administrator,
    Role.PATIENT: _patient,
}


def for_user(user: User) -> tuple[str, Context]:
    """The home template and its context for the user's role."""
    builder = BUILDERS.get(user.role)
    if builder is None:
        return "web/home/none.html", {}
    return f"web/home/{user.role}.html", builder(user)
