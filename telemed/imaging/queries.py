"""Scoped reads of the imaging index. Reads that show patient data are audited here (once
per request and study, not per instance)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import NotFound
from telemed.imaging.models import ImagingInstance, ImagingSeries, ImagingStudy

if TYPE_CHECKING:
    from telemed.accounts.models import User


def visible_studies(user: User | None) -> QuerySet[ImagingStudy]:
    return ImagingStudy.objects.visible_to(user)


def visible_series(user: User | None) -> QuerySet[ImagingSeries]:
    return ImagingSeries.objects.visible_to(user)


def visible_instances(user: User | None) -> QuerySet[ImagingInstance]:
    return ImagingInstance.objects.visible_to(user)


def _denied(user: User | None, object_type: str, object_id: object) -> NotFound:
    audit.denied(
        user, Action.READ, object_type=object_type, object_id=object_id, reason="not in scope"
    )
    return NotFound(_("Study not found"))


def get_study(user: User, study_id: int) -> ImagingStudy:
    """The study by its row id, in the user's scope (404 and a denied event otherwise)."""
    study = visible_studies(user).filter(pk=study_id).first()
    if study is None:
        raise _denied(user, "imaging_study", study_id)
    audit.record(
        user,
        Action.READ,
        object_type="imaging_study",
        object_id=study.pk,
        patient_id=study.patient_id,
    )
    return study


def study_by_uid(user: User, study_uid: str, *, audit_read: bool = True) -> ImagingStudy:
    """The visible study with this Study Instance UID (the oldest when two institutions
    sent the same study and the user sees both)."""
    study = visible_studies(user).filter(study_instance_uid=study_uid).order_by("pk").first()
    if study is None:
        raise _denied(user, "imaging_study", study_uid[:80])
    if audit_read:
        audit.record(
            user,
            Action.READ,
            object_type="imaging_study",
            object_id=study.pk,
            patient_id=study.patient_id,
        )
    return study


def record_search(user: User, level: str, query: dict[str, str], results: int) -> None:
    audit.record(
        user,
        Action.SEARCH,
        object_type=f"imaging_{level.lower()}",
        detail={"query": {k: v[:64] for k, v in list(query.items())[:20]}, "results": results},
    )
