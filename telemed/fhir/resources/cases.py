"""What the consultation-based types share: scoped, audited reads of a case and its rows,
and the search parameters that address a case's patient."""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import queries as consultation_queries
from telemed.consultations.models import Consultation
from telemed.core.errors import NotFound
from telemed.fhir.search import alternatives, reference_id

if TYPE_CHECKING:
    from telemed.accounts.models import User


def case_by_number(
    user: User, number: str, *, what: str = "consultation", audit_read: bool = True
) -> Consultation:
    """The case numbered ``number`` in the user's scope; NotFound (audited) otherwise."""
    case = consultation_queries.visible(user).filter(number=number[:24]).first()
    if case is None:
        audit.denied(user, Action.READ, object_type=what, object_id=number, reason="not in scope")
        raise NotFound(_("Consultation not found"))
    if not audit_read:
        return case
    audit.record(user, Action.READ, object_type=what, object_id=case.pk, patient_id=case.patient_id)
    return case


def read_audited(user: User, found: Any, what: str, resource_id: str) -> Any:
    """``found`` (a row read in scope, or None) with its read audited, or NotFound."""
    if found is None:
        audit.denied(
            user, Action.READ, object_type=what, object_id=resource_id, reason="not in scope"
        )
        raise NotFound(_("Not found"))
    audit.record(
        user,
        Action.READ,
        object_type=what,
        object_id=found.pk,
        patient_id=found.consultation.patient_id,
    )
    return found


def patient_condition(prefix: str, value: str) -> Q:
    """``patient=Patient/<mpi id>`` (or the bare id) on a case reached by ``prefix``."""
    condition = Q(pk__in=[])
    for option in alternatives(value):
        with contextlib.suppress(ValueError):
            condition |= Q(
                **{f"{prefix}patient__mpi_id": uuid.UUID(reference_id(option, "Patient"))}
            )
    return condition


def number_condition(prefix: str, value: str, resource_type: str) -> Q:
    numbers = [reference_id(option, resource_type) for option in alternatives(value)]
    return Q(**{f"{prefix}number__in": numbers})


def reverse(mapping: dict[str, str]) -> dict[str, list[str]]:
    """A state -> FHIR code table turned around: code -> states."""
    found: dict[str, list[str]] = {}
    for state, code in mapping.items():
        found.setdefault(code, []).append(str(state))
    return found


def cases(user: User) -> QuerySet[Consultation]:
    return consultation_queries.visible(user).select_related("disease", "wanted_expert")


def lock_case(case: Consultation) -> None:
    """Hold the case's row until the caller's transaction ends (If-Match, then the write)."""
    Consultation.objects.unscoped(
        "row lock on a case already read in scope"
    ).select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
