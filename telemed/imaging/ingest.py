"""Ingesting a received object into the imaging index.

``ingest`` (re-exported by ``telemed.imaging.services``) is the one way an instance enters the platform (DICOM C-STORE and DICOMweb
STOW-RS both call it): validate, store the file as received in the blob store (streamed,
fsynced), index it, and only then return, so that a success that goes back to the sender
means the instance is durable and findable. A refusal writes nothing but its audit event.

Re-sending, decided: the same SOP Instance UID with the same bytes is a no-op success; with
different bytes it is refused (0x0111, duplicate SOP instance) and the first version stays.
DICOM gives a changed object a new SOP Instance UID, and silently replacing an image a
reader may already have seen would rewrite the record under them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action, Outcome
from telemed.core import clock
from telemed.core.rows import matched
from telemed.dicom.files import (
    DOES_NOT_MATCH_SOP_CLASS,
    DUPLICATE_SOP_INSTANCE,
    OUT_OF_RESOURCES,
    SOP_CLASS_NOT_SUPPORTED,
    Inspected,
    inspect,
)
from telemed.dicom.registry import Refused
from telemed.imaging.models import ImagingInstance, ImagingSeries, ImagingStudy
from telemed.imaging.pixels import check_image
from telemed.imaging.sop_classes import IMAGE_STORAGE
from telemed.imaging.values import dicom_date, dicom_int
from telemed.patients.models import PatientRegistration
from telemed.storage import services as storage
from telemed.storage.base import copy_hashing
from telemed.storage.models import Blob

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.directory.models import Institution

DICOM_MEDIA_TYPE = "application/dicom"


@dataclass
class _KnownStudy:
    pk: int
    patient_dicom_id: str
    patient_id: int | None
    modalities: list[str]
    series: dict[str, int] = field(default_factory=dict)


@dataclass
class Sender:
    """Who an object comes from: the institution it belongs to, and the remote node (DIMSE)
    or the user (DICOMweb) that sent it. ``studies`` counts what this association or
    request stored per study, so that one audit event is written per study, not per
    instance."""

    institution: Institution
    calling_ae_title: str = ""
    address: str = ""
    user: User | None = None
    batch: str = ""
    studies: dict[str, int] = field(default_factory=dict)
    # What this association or request already indexed, so that the rest of a series costs
    # an insert and two counter updates rather than finding its study and series again.
    # Rows are only ever added while ingesting, so a remembered row still exists.
    known: dict[str, _KnownStudy] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return f"{self.calling_ae_title}@{self.address}"


@dataclass(frozen=True)
class Ingested:
    instance: ImagingInstance
    created: bool


def ingest(
    path: Path,
    sender: Sender,
    *,
    sop_class_uid: str | None = None,
    sop_instance_uid: str | None = None,
    study_instance_uid: str | None = None,
) -> Ingested:
    """Validate, store and index the DICOM Part 10 file at ``path``.

    ``sop_class_uid`` / ``sop_instance_uid`` are what the C-STORE request announced, and
    ``study_instance_uid`` the study a STOW-RS URL names; a data set that says otherwise is
    refused (0xA900). Raises ``Refused`` (with the DIMSE status)
    for anything not accepted, after auditing the refusal.
    """
    try:
        inspected = inspect(path)
        _check(inspected, sop_class_uid, sop_instance_uid)
        if (
            study_instance_uid is not None
            and inspected.text("StudyInstanceUID") != study_instance_uid
        ):
            raise Refused(
                DOES_NOT_MATCH_SOP_CLASS, _("The instance belongs to another study than the URL's.")
            )
        return _store_and_index(path, inspected, sender)
    except Refused as refusal:
        _audit_refusal(sender, refusal, sop_instance_uid)
        raise


def _check(inspected: Inspected, sop_class_uid: str | None, sop_instance_uid: str | None) -> None:
    dataset_class = inspected.text("SOPClassUID")
    if sop_class_uid is not None and dataset_class != sop_class_uid:
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("The data set's SOP class is not the one announced.")
        )
    if sop_instance_uid is not None and inspected.text("SOPInstanceUID") != sop_instance_uid:
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("The data set's SOP instance is not the one announced.")
        )
    if dataset_class not in IMAGE_STORAGE:
        raise Refused(SOP_CLASS_NOT_SUPPORTED, _("This SOP class is not an image we receive."))
    check_image(inspected)


def _store_and_index(path: Path, inspected: Inspected, sender: Sender) -> Ingested:
    uid = inspected.text("SOPInstanceUID")
    existing = _existing(sender.institution, uid)
    if existing is not None:
        return _resend(path, existing)
    known = sender.known.get(inspected.text("StudyInstanceUID"))
    if known is None:
        _check_patient(sender.institution, inspected)
    elif known.patient_dicom_id != inspected.text("PatientID"):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("This study was received for another patient ID.")
        )
    try:
        with transaction.atomic():
            with path.open("rb") as source:
                blob = storage.store(source, content_type=DICOM_MEDIA_TYPE, name=f"{uid}.dcm")
            instance = _index(inspected, sender, blob)
    except IntegrityError:
        # Another association stored the same instance between our check and our insert.
        existing = _existing(sender.institution, uid)
        if existing is None:
            raise
        return _resend(path, existing)
    except OSError:
        raise Refused(OUT_OF_RESOURCES, _("The instance could not be stored.")) from None
    study_uid = inspected.text("StudyInstanceUID")
    sender.studies[study_uid] = sender.studies.get(study_uid, 0) + 1
    return Ingested(instance, True)


def _check_patient(institution: Institution, inspected: Inspected) -> None:
    # Checked before storing so that a refused object leaves nothing behind; checked again
    # under the study's lock in _index for a study opened meanwhile.
    known = matched(
        ImagingStudy.objects.unscoped("ingest: the study's patient")
        .filter(institution=institution, study_instance_uid=inspected.text("StudyInstanceUID"))
        .only("patient_dicom_id")
    )
    if known is not None and known.patient_dicom_id != inspected.text("PatientID"):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("This study was received for another patient ID.")
        )


def _existing(institution: Institution, sop_instance_uid: str) -> ImagingInstance | None:
    instances = ImagingInstance.objects.unscoped("ingest: is this instance already indexed")
    # Nearly every instance is new: ask for the key alone, and read the row only for a resend.
    found = matched(
        instances.filter(institution=institution, sop_instance_uid=sop_instance_uid).only("pk")
    )
    if found is None:
        return None
    return instances.select_related("blob").get(pk=found.pk)


def _resend(path: Path, existing: ImagingInstance) -> Ingested:
    with path.open("rb") as source:
        sha256, _size = copy_hashing(source)
    if sha256 != existing.blob.sha256:
        raise Refused(
            DUPLICATE_SOP_INSTANCE,
            _("This SOP instance was already received with different content."),
        )
    return Ingested(existing, False)


def _mpi_patient_id(institution: Institution, patient_dicom_id: str) -> int | None:
    registration = matched(
        PatientRegistration.objects.unscoped("ingest: link by the sender's own record number")
        .filter(institution=institution, record_number=patient_dicom_id)
        .only("patient_id")
    )
    return registration.patient_id if registration is not None else None


def _index(inspected: Inspected, sender: Sender, blob: Blob) -> ImagingInstance:
    """Write study, series and instance rows; the caller holds the transaction."""
    text = inspected.text
    now = clock.now()
    study_uid = text("StudyInstanceUID")
    modality = text("Modality")[:16]
    known = sender.known.get(study_uid)
    created = False
    modalities: list[str] | None = None  # set when the study's modality list grows
    if known is None or (modality and modality not in known.modalities):
        # The first instance of the study here, or a modality it has not had yet: read the
        # study under its row lock, so that two associations storing into one study never
        # lose a modality (the counters below are atomic updates either way).
        study, created = _locked_study(inspected, sender, now)
        found = list(study.modality_list)
        if modality and modality not in found:
            found.append(modality)
            modalities = found
        series_seen = known.series if known is not None else {}
        known = _KnownStudy(study.pk, study.patient_dicom_id, study.patient_id, found, series_seen)
    if known.patient_dicom_id != text("PatientID"):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("This study was received for another patient ID.")
        )
    series_uid = text("SeriesInstanceUID")
    series_pk = known.series.get(series_uid)
    series_created = False
    if series_pk is None:
        series, series_created = ImagingSeries.objects.unscoped(
            "ingest: find or open the series"
        ).get_or_create(
            study_id=known.pk,
            series_instance_uid=series_uid,
            defaults={
                "modality": modality,
                "series_number": dicom_int(text("SeriesNumber")),
                "series_description": text("SeriesDescription")[:64],
                "body_part_examined": text("BodyPartExamined")[:16],
                "series_date": dicom_date(text("SeriesDate")),
                "received_at": now,
            },
        )
        series_pk = series.pk
    pixel = inspected.pixel_data
    instance = ImagingInstance.objects.create(
        study_id=known.pk,
        series_id=series_pk,
        institution=sender.institution,
        sop_instance_uid=text("SOPInstanceUID"),
        sop_class_uid=text("SOPClassUID"),
        transfer_syntax_uid=inspected.transfer_syntax_uid,
        instance_number=dicom_int(text("InstanceNumber")),
        rows=dicom_int(text("Rows")),
        columns=dicom_int(text("Columns")),
        frame_count=dicom_int(text("NumberOfFrames")) or 1,
        bits_allocated=dicom_int(text("BitsAllocated")),
        samples_per_pixel=dicom_int(text("SamplesPerPixel")) or 1,
        blob=blob,
        size=inspected.size,
        pixel_data_tag_offset=pixel.tag_offset if pixel and pixel.tag_offset >= 0 else None,
        pixel_data_offset=pixel.offset if pixel and pixel.offset >= 0 else None,
        pixel_data_length=pixel.length if pixel and pixel.offset >= 0 else None,
        received_at=now,
    )
    ImagingSeries.objects.unscoped("ingest: count").filter(pk=series_pk).update(
        instance_count=F("instance_count") + 1
    )
    counters: dict[str, object] = {
        "instance_count": F("instance_count") + 1,
        "series_count": F("series_count") + (1 if series_created else 0),
        "updated_at": now,
    }
    if modalities is not None:
        counters["modalities"] = "\\".join(modalities)[:200]
    ImagingStudy.objects.unscoped("ingest: count").filter(pk=known.pk).update(**counters)
    if study_uid not in sender.studies:
        # The first instance of this study on this association or request: one event, in
        # the same transaction, so an acknowledged instance is never unaudited.
        audit.record(
            sender.user,
            Action.CREATE,
            object_type="imaging_study",
            object_id=known.pk,
            patient_id=known.patient_id,
            actor_name=sender.name,
            detail={
                "received": "dicom" if sender.user is None else "dicomweb",
                "institution": sender.institution.code,
                "calling_ae_title": sender.calling_ae_title,
                "batch": sender.batch,
                "new_study": created,
            },
        )
    remembered = known
    remembered_series = (series_uid, series_pk)

    def remember() -> None:
        # Only what committed is remembered: a rolled-back study or series must be looked
        # up (and made) again by the next instance.
        remembered.series[remembered_series[0]] = remembered_series[1]
        sender.known[study_uid] = remembered

    transaction.on_commit(remember)
    return instance


def _locked_study(
    inspected: Inspected, sender: Sender, now: dt.datetime
) -> tuple[ImagingStudy, bool]:
    """The study row under its lock, opened from this instance's attributes if it is new."""
    text = inspected.text
    study_uid = text("StudyInstanceUID")
    patient_dicom_id = text("PatientID")
    studies = ImagingStudy.objects.unscoped("ingest: find and lock the study")
    study = matched(
        studies.select_for_update().filter(
            institution=sender.institution, study_instance_uid=study_uid
        )
    )
    if study is not None:
        return study, False
    try:
        with transaction.atomic():
            study = studies.create(
                institution=sender.institution,
                study_instance_uid=study_uid,
                patient_dicom_id=patient_dicom_id,
                patient_name=text("PatientName")[:324],
                patient_birth_date=dicom_date(text("PatientBirthDate")),
                patient_sex=text("PatientSex")[:16],
                study_date=dicom_date(text("StudyDate")),
                study_time=text("StudyTime")[:16],
                accession_number=text("AccessionNumber")[:16],
                study_id=text("StudyID")[:16],
                study_description=text("StudyDescription")[:64],
                referring_physician_name=text("ReferringPhysicianName")[:324],
                calling_ae_title=sender.calling_ae_title,
                patient_id=_mpi_patient_id(sender.institution, patient_dicom_id),
                received_at=now,
                updated_at=now,
            )
        return study, True
    except IntegrityError:
        # Opened by another association meanwhile: take its row, under the lock.
        return (
            studies.select_for_update().get(
                institution=sender.institution, study_instance_uid=study_uid
            ),
            False,
        )


def _audit_refusal(sender: Sender, refusal: Refused, sop_instance_uid: str | None) -> None:
    audit.record(
        sender.user,
        Action.CREATE,
        object_type="imaging_instance",
        object_id=sop_instance_uid or "",
        outcome=Outcome.DENIED,
        actor_name=sender.name,
        detail={
            "reason": str(refusal.reason),
            "status": f"0x{refusal.status:04X}",
            "institution": sender.institution.code,
            "calling_ae_title": sender.calling_ae_title,
            "batch": sender.batch,
        },
    )


def close_batch(sender: Sender) -> None:
    """At the end of an association or request: one event with what was stored per study."""
    if not sender.studies:
        return
    audit.record(
        sender.user,
        Action.CREATE,
        object_type="imaging_batch",
        object_id=sender.batch,
        actor_name=sender.name,
        detail={
            "institution": sender.institution.code,
            "calling_ae_title": sender.calling_ae_title,
            "instances_per_study": dict(sender.studies),
        },
    )
