"""Writes of the imaging app: ingesting received objects (``ingest``, implemented in
``telemed.imaging.ingest``), attaching a study to an imaging case, and what the case asks
to be read."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from telemed.audit.models import Action
from telemed.consultations.models import Consultation
from telemed.core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from telemed.imaging.ingest import Ingested, Sender, close_batch, ingest
from telemed.imaging.models import CaseStudy, ImagingRequest, ImagingStudy

if TYPE_CHECKING:
    from telemed.accounts.models import User

__all__ = ["Ingested", "Sender", "attach_study", "close_batch", "ingest", "set_request"]


def attach_study(user: User, consultation: Consultation, study: ImagingStudy) -> CaseStudy:
    """Attach one of the requesting institution's received studies to an imaging case
    (while the requester still edits it). Both were read through the caller's scope. A study
    not yet linked to the master patient index is linked to the case's patient."""
    from telemed.consultations.states import Kind, State
    from telemed.consultations.workflow import PART_ROLES, REQUESTER, record_on_case

    if user.role not in PART_ROLES[REQUESTER]:
        raise PermissionDenied(_("Only the requester attaches studies."))
    if consultation.kind != Kind.IMAGING:
        raise ValidationFailed(_("Studies are attached to imaging cases only."))
    if study.institution_id != consultation.requesting_institution_id:
        raise ValidationFailed(_("The study was not received from the requesting institution."))
    if study.patient_id is not None and study.patient_id != consultation.patient_id:
        raise ValidationFailed(_("The study belongs to another patient."))
    with transaction.atomic():
        case = Consultation.objects.visible_to(user).select_for_update().get(pk=consultation.pk)
        if case.state not in (State.DRAFT, State.RETURNED):
            raise InvalidTransition(
                _("Case %(number)s is %(state)s: studies can no longer be attached.")
                % {"number": case.number, "state": case.get_state_display()}
            )
        link, created = CaseStudy.objects.get_or_create(
            consultation=case, study=study, defaults={"attached_by": user}
        )
        if study.patient_id is None:
            ImagingStudy.objects.unscoped("attach: link the study to the case's patient").filter(
                pk=study.pk, patient__isnull=True
            ).update(patient_id=case.patient_id)
        if created:
            record_on_case(
                user,
                case,
                "study_attached",
                audit_action=Action.UPDATE,
                object_type="imaging_study",
                object_id=study.pk,
                detail={"study": study.study_instance_uid},
            )
    return link


MODALITY_CODE = re.compile(r"[A-Z0-9_]{1,16}")


def set_request(
    user: User, consultation: Consultation, *, modality: str, body_part: str
) -> ImagingRequest:
    """What the requester wants read (DICOM modality and body part codes, e.g. CT, CHEST),
    which QC's automatic check compares with the attached studies. Only while the requester
    still edits the case; the case was read through the caller's scope."""
    from telemed.consultations.states import Kind, State
    from telemed.consultations.workflow import PART_ROLES, REQUESTER, record_on_case

    if user.role not in PART_ROLES[REQUESTER]:
        raise PermissionDenied(_("Only the requester says what is to be read."))
    if consultation.kind != Kind.IMAGING:
        raise ValidationFailed(_("Studies are attached to imaging cases only."))
    codes = {"modality": modality.strip().upper(), "body_part": body_part.strip().upper()}
    bad = [name for name, code in codes.items() if code and not MODALITY_CODE.fullmatch(code)]
    if bad:
        raise ValidationFailed(
            _("Use DICOM codes (capital letters, digits, _; at most 16)."),
            details={"fields": bad},
        )
    with transaction.atomic():
        case = Consultation.objects.visible_to(user).select_for_update().get(pk=consultation.pk)
        if case.state not in (State.DRAFT, State.RETURNED):
            raise InvalidTransition(
                _("Case %(number)s is %(state)s: the request can no longer change.")
                % {"number": case.number, "state": case.get_state_display()}
            )
        request, _created = ImagingRequest.objects.update_or_create(
            consultation=case, defaults=codes
        )
        record_on_case(
            user,
            case,
            "imaging_request_set",
            audit_action=Action.UPDATE,
            object_type="imaging_request",
            object_id=request.pk,
            detail=codes,
        )
    return request
