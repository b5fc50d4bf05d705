"""Who receives a study identified and who de-identified.

A reader outside the patient's network is a user of an external-partner institution. Such a
reader gets a study de-identified, unless their own institution sent it or the patient's
consent to sharing with outside experts (``share_external``, the newest decision in force)
is granted. A study not linked to a patient record has no consent to go by: de-identified.
Everyone inside the network gets studies as stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Q, Subquery

from telemed.directory.models import Institution, Tier
from telemed.imaging.models import ImagingStudy
from telemed.patients.models import Consent, ConsentKind

if TYPE_CHECKING:
    from telemed.accounts.models import User

_REASON = "de-identification: the consent in force decides what goes out"


def outside_recipient(user: User | None) -> Institution | None:
    """The external-partner institution the user reads for, or None inside the network."""
    if user is None or user.institution_id is None:
        return None
    institution = user.institution
    if institution is None or institution.tier != Tier.EXTERNAL_PARTNER:
        return None
    return institution


def _sharing_granted(patient_ids: Iterable[int]) -> set[int]:
    wanted = {pk for pk in patient_ids if pk is not None}
    if not wanted:
        return set()
    newest: dict[int, bool] = {}
    decisions = (
        Consent.objects.unscoped(_REASON)
        .filter(patient_id__in=wanted, kind=ConsentKind.SHARE_EXTERNAL)
        .order_by("patient_id", "-recorded_at", "-pk")
        .values_list("patient_id", "granted")
    )
    for patient_id, granted in decisions:
        newest.setdefault(patient_id, granted)
    return {pk for pk, granted in newest.items() if granted}


def deidentified_for(recipient: Institution | None, studies: Iterable[ImagingStudy]) -> set[int]:
    """The ids of those ``studies`` that go to ``recipient`` de-identified."""
    if recipient is None:
        return set()
    rows = [s for s in studies if s.institution_id != recipient.pk]
    granted = _sharing_granted(s.patient_id for s in rows if s.patient_id is not None)
    return {s.pk for s in rows if s.patient_id not in granted}


def is_deidentified(user: User | None, study: ImagingStudy) -> bool:
    return bool(deidentified_for(outside_recipient(user), [study]))


def identified_condition(recipient: Institution, prefix: str = "") -> Q:
    """A filter (on studies, or on rows below a study with ``prefix="study__"``) for the
    studies ``recipient`` receives identified."""
    newest = (
        Consent.objects.unscoped(_REASON)
        .filter(patient=OuterRef("patient"), kind=ConsentKind.SHARE_EXTERNAL)
        .order_by("-recorded_at", "-pk")
        .values("granted")[:1]
    )
    shared = (
        ImagingStudy.objects.unscoped(_REASON)
        .annotate(shared=Subquery(newest))
        .filter(shared=True)
        .values("pk")
    )
    return Q(**{f"{prefix}institution_id": recipient.pk}) | Q(**{f"{prefix}pk__in": shared})
