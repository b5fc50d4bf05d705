"""Reads the consultation pages need beyond queries.py: counts by state, the experts a
requester or a manager can pick, free slots, rooms, and the case's records for display.

Every read of a case goes through ``queries`` (scoped); directory data (experts, rooms,
specialties, diseases) is not patient data and is read directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import queries, scheduling, signing
from telemed.consultations.services import EXPERT_TIERS, REQUESTING_ROLES
from telemed.consultations.states import State
from telemed.consultations.workflow import STEPS
from telemed.core import clock
from telemed.directory.models import ConsultationRoom, Disease, Specialty

if TYPE_CHECKING:
    from telemed.consultations.models import (
        Conclusion,
        Consultation,
        ConsultationEvent,
        Feedback,
        Message,
        QualityCheck,
    )
    from telemed.patients.models import Patient

# What each history row says someone did; a step added later falls back to its verb.
HISTORY_LABELS: dict[str, str | Promise] = {
    "create": _("created the request"),
    "edit": _("edited the request"),
    "submit": _("submitted the request"),
    "withdraw": _("withdrew the request"),
    "qc_accept": _("accepted the request (quality control)"),
    "qc_return": _("returned the request to the requester"),
    "triage": _("assigned the case to an expert"),
    "reassign": _("reassigned the case"),
    "schedule": _("scheduled the consultation"),
    "start_session": _("started the session"),
    "decline": _("declined the case"),
    "conclude": _("signed the conclusion"),
    "amend": _("amended the conclusion"),
    "close": _("closed the case"),
    "cancel": _("cancelled the consultation"),
    "feedback": _("gave feedback"),
}


def action_label(action: str) -> str:
    if action in HISTORY_LABELS:
        return str(HISTORY_LABELS[action])
    step = STEPS.get(action)
    return str(step.verb) if step else action


def display_name(user: User | None) -> str:
    """A person as the pages name them: the practitioner's name where there is one."""
    if user is None:
        return ""
    practitioner = user.practitioner
    if practitioner is not None:
        if (get_language() or "").startswith("en") and practitioner.name_en:
            return practitioner.name_en
        return practitioner.name
    return user.get_full_name() or user.get_username()


# --- lists and counts ------------------------------------------------------------------


def search(user: User, *, state: str = "", text: str = "") -> QuerySet[Consultation]:
    """The consultations list page: the user's scope (a requester's own institution), by
    state and number or patient name. Audited as a search, as the API's list is."""
    found = queries.search(user, state=state, text=text)
    audit.record(
        user,
        Action.SEARCH,
        object_type="consultation",
        detail={"q": text[:100], "state": state, "page": "list"},
    )
    return found


def count_by_state(consultations: QuerySet[Consultation]) -> list[tuple[str, str, int]]:
    """(state, label, count) in the workflow's order, states with no case left out."""
    counts = dict(
        consultations.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return [(state.value, str(state.label), counts[state]) for state in State if counts.get(state)]


def overdue_ids(user: User) -> set[int]:
    return set(queries.overdue(user).values_list("pk", flat=True))


def for_patient(user: User, patient: Patient) -> QuerySet[Consultation]:
    return queries.visible(user).filter(patient=patient).order_by("-created_at")


# --- experts, slots, rooms -------------------------------------------------------------


@dataclass(frozen=True)
class ExpertOption:
    id: int
    name: str
    title: str
    institution: str
    tier: str
    department: str
    accepting: bool

    @property
    def label(self) -> str:
        parts = [self.name]
        if self.department:
            parts.append(self.department)
        parts.append(self.institution)
        return " · ".join(parts)


def experts(
    *,
    text: str = "",
    specialty: str = "",
    tier: str = "",
    include: int | None = None,
    accepting_only: bool = False,
    exclude_institution: int | None = None,
    limit: int = 50,
) -> list[ExpertOption]:
    """Experts at the province, a city sub-centre or a partner, by name, department or
    disease; ``include`` keeps an already chosen expert in the list whatever the filter."""
    found = User.objects.filter(
        role=Role.EXPERT,
        is_active=True,
        institution__tier__in=EXPERT_TIERS,
        institution__active=True,
    ).select_related("institution", "practitioner__department", "practitioner__expert_profile")
    everyone = found
    if accepting_only:
        found = found.filter(practitioner__expert_profile__accepting=True)
    if exclude_institution is not None:
        found = found.exclude(institution_id=exclude_institution)
    if tier:
        found = found.filter(institution__tier=tier)
    matched = found
    if specialty:
        matched = matched.filter(practitioner__department__specialty__code=specialty)
    if text := text.strip():
        matched = matched.filter(
            Q(practitioner__name__icontains=text)
            | Q(practitioner__name_en__icontains=text)
            | Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
            | Q(username__iexact=text)
            | Q(practitioner__department__name__icontains=text)
            | Q(practitioner__department__name_en__icontains=text)
            | Q(practitioner__expert_profile__diseases__icd10__istartswith=text)
            | Q(practitioner__expert_profile__diseases__name__icontains=text)
        )
    chosen = list(
        matched.distinct().order_by("institution__code", "practitioner__name", "pk")[:limit]
    )
    if include is not None and all(user.pk != include for user in chosen):
        # Chosen before (a returned request): kept even if no longer accepting new cases.
        extra = everyone.filter(pk=include).first()
        if extra is not None:
            chosen.insert(0, extra)
    return [_option(user) for user in chosen]


def _option(user: User) -> ExpertOption:
    practitioner = user.practitioner
    profile = getattr(practitioner, "expert_profile", None) if practitioner else None
    institution = user.institution
    return ExpertOption(
        id=user.pk,
        name=display_name(user),
        title=practitioner.get_title_display() if practitioner else "",
        institution=str(institution) if institution else "",
        tier=institution.tier if institution else "",
        department=str(practitioner.department) if practitioner and practitioner.department else "",
        accepting=bool(profile and profile.accepting),
    )


def expert(expert_id: int | None) -> User | None:
    if expert_id is None:
        return None
    return (
        User.objects.filter(pk=expert_id, role=Role.EXPERT, is_active=True)
        .select_related("institution", "practitioner")
        .first()
    )


def free_slots(expert_user: User, day: dt.date) -> list[dt.datetime]:
    """The expert's free half-hour slots on ``day`` that are still ahead, in local time."""
    now = clock.now()
    return [
        timezone.localtime(slot) for slot in scheduling.free_slots(expert_user, day) if slot > now
    ]


def next_free_day(expert_user: User, start: dt.date | None = None, days: int = 14) -> dt.date:
    """The first day from ``start`` on which the expert has a free slot (else ``start``)."""
    first = start or timezone.localdate()
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        if free_slots(expert_user, day):
            return day
    return first


def rooms_for(consultation: Consultation) -> QuerySet[ConsultationRoom]:
    """Rooms at the assigned expert's institution (where the session is held)."""
    institution_id = consultation.assigned_institution_id or (
        consultation.assigned_expert.institution_id if consultation.assigned_expert else None
    )
    if institution_id is None:
        return ConsultationRoom.objects.none()
    return ConsultationRoom.objects.filter(institution_id=institution_id, active=True).order_by(
        "code"
    )


def specialties() -> QuerySet[Specialty]:
    return Specialty.objects.order_by("code")


def diseases(text: str = "", limit: int = 30) -> list[Disease]:
    found = Disease.objects.order_by("icd10")
    if text := text.strip():
        found = found.filter(
            Q(icd10__istartswith=text) | Q(name__icontains=text) | Q(name_en__icontains=text)
        )
    return list(found[:limit])


# --- the case's records ----------------------------------------------------------------


@dataclass(frozen=True)
class SignedVersion:
    conclusion: Conclusion
    holds: bool


@dataclass(frozen=True)
class Record:
    """What a case page shows besides the case row; read from a case loaded in scope."""

    conclusions: list[SignedVersion]
    quality_checks: list[QualityCheck]
    events: list[ConsultationEvent]
    messages: list[Message]
    feedback: list[Feedback]

    @property
    def latest(self) -> SignedVersion | None:
        return self.conclusions[0] if self.conclusions else None


def record_of(consultation: Consultation) -> Record:
    conclusions = list(consultation.conclusions.select_related("signed_by__practitioner"))
    conclusions.sort(key=lambda c: -c.version)
    return Record(
        conclusions=[SignedVersion(c, signing.signature_holds(c)) for c in conclusions],
        quality_checks=list(consultation.quality_checks.select_related("reviewer__practitioner")),
        events=events_of(consultation),
        messages=messages_of(consultation),
        feedback=list(consultation.feedback.select_related("author")),
    )


def events_of(consultation: Consultation) -> list[ConsultationEvent]:
    return list(consultation.events.select_related("actor__practitioner"))


def messages_of(consultation: Consultation) -> list[Message]:
    return list(consultation.messages.select_related("author__practitioner"))


def is_overdue(user: User, consultation: Consultation) -> bool:
    return queries.overdue(user).filter(pk=consultation.pk).exists()


def may_give_feedback(user: User, consultation: Consultation) -> bool:
    """The requesting side gives feedback once the conclusion is there (as the service
    checks; the page only hides the form from others)."""
    return (
        consultation.state in (State.CONCLUDED, State.CLOSED)
        and user.role in REQUESTING_ROLES
        and user.institution_id == consultation.requesting_institution_id
    )


def latest_conclusion(consultation: Consultation) -> Conclusion | None:
    return consultation.conclusions.order_by("-version").first()
