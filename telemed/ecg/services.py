"""Every write on an ECG case: intake (read, measure, store, create and submit in one
transaction), claiming from the pool exactly once, and giving a claim back.

Transitions go through the consultation engine (``workflow.perform``): submit lands in
``accepted`` (waiting in the pool), ``claim`` takes it to ``assigned``, ``release`` back to
``accepted``, and the signed report is the engine's ``conclude`` (see ``reports.py``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import services as consultation_services
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind, State, Urgency
from telemed.consultations.workflow import perform
from telemed.core import clock
from telemed.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from telemed.ecg import analysis_view, pools
from telemed.ecg import samples as sample_store
from telemed.ecg.models import EcgRecording, EcgSourceFile
from telemed.ecg.signal.readers import read_record
from telemed.patients import queries as patient_queries
from telemed.patients import services as patient_services
from telemed.patients.models import ConsentKind
from telemed.storage import services as storage

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.patients.models import Patient

Upload = bytes | IO[bytes]
CLAIMED_STATES = frozenset({State.ASSIGNED, State.CONCLUDED, State.CLOSED})


class Taken(Conflict):
    """Someone else claimed the ECG first (409, naming who)."""

    code = "taken"


def display_name(user: User) -> str:
    """How a colleague is named on a worklist ("taken by 王医生")."""
    practitioner = user.practitioner
    return (
        user.get_full_name() or (practitioner.name if practitioner else "") or user.get_username()
    )


@dataclass(frozen=True)
class Intake:
    """What the requesting side says with the tracing (all optional but the consent)."""

    urgency: str = Urgency.ROUTINE
    clinical_summary: str = ""
    question: str = ""
    consent_confirmed: bool = False
    channel: str = "upload"  # upload, api, fhir, dicom, dicomweb: where it came in
    sender: str = ""  # a machine sender's own name (the DICOM node's AE title and address)


def submit_ecg(
    actor: User,
    patient: Patient,
    files: Mapping[str, Upload],
    *,
    main: str,
    intake: Intake | None = None,
) -> Consultation:
    """Read, measure and store an ECG record and submit it to the requesting site's pool.

    ``files`` maps each file's name to its bytes (a WFDB record: the ``.hea`` named by
    ``main`` and its ``.dat``). Bad input raises before anything is written: the reader's
    ``EcgFormatError`` (422/413), ``ValidationFailed`` for a missing consent or pool,
    ``PermissionDenied`` for a role that does not request. The case, its recording and the
    submission are one transaction; the push goes out after it commits.
    """
    intake = intake or Intake()
    if actor.role not in consultation_services.REQUESTING_ROLES or actor.institution is None:
        audit.denied(actor, Action.CREATE, object_type="ecg", reason="role cannot send ECGs")
        raise PermissionDenied(gettext("Only requesting doctors can send ECGs"))
    patient = patient_queries.get_patient(actor, patient.pk, audit_read=False)
    if intake.urgency not in Urgency.values:
        raise ValidationFailed(
            gettext("The ECG request is not valid"),
            details={"fields": {"urgency": gettext("must be routine, urgent or emergency")}},
        )
    consented = patient_queries.current_consents(patient).get(ConsentKind.TELEMEDICINE) is True
    if not (consented or intake.consent_confirmed):
        raise ValidationFailed(
            gettext("The ECG request is not valid"),
            details={
                "fields": {
                    "consent_confirmed": gettext(
                        "the patient's consent to telemedicine must be recorded"
                    )
                }
            },
        )
    contents = {name: _read(upload) for name, upload in files.items()}
    record = read_record(contents, filename=main)
    analysis = analysis_view.analyze_to_json(record)
    pool = pools.pool_for(actor.institution)
    # The blobs go in before the rows (storage.store explains why that order is safe), all
    # in one call: synced together, their rows in two queries (storage.store_many).
    uploads = [
        storage.Upload(io.BytesIO(d), "application/octet-stream", n) for n, d in contents.items()
    ]
    *stored, samples_blob = storage.store_many([*uploads, sample_store.upload(record.samples)])
    originals = list(zip(contents, stored, strict=True))
    with transaction.atomic():
        consultation = consultation_services.create_draft(
            actor,
            patient.pk,
            consultation_services.Request(
                kind=Kind.ECG,
                urgency=intake.urgency,
                clinical_summary=intake.clinical_summary,
                question=intake.question,
                consent_confirmed=True,
                fields_set={"kind", "urgency", "clinical_summary", "question", "consent_confirmed"},
            ),
        )
        recording = EcgRecording.objects.create(
            consultation=consultation,
            pool=pool,
            source_format=record.source_format,
            sampling_rate=record.sampling_rate,
            leads=list(record.leads),
            n_samples=record.n_samples,
            samples=samples_blob,
            analysis=analysis,
            critical=analysis_view.is_critical(analysis),
            source_meta={k: str(v)[:200] for k, v in record.meta.items()},
        )
        for name, blob in originals:
            EcgSourceFile.objects.create(
                recording=recording, name=name[:200], blob=blob, size=blob.size
            )

        def submitted(case: Consultation) -> dict[str, Any]:
            if not consented:
                patient_services.record_consent(
                    actor,
                    case.patient,
                    ConsentKind.TELEMEDICINE,
                    True,
                    note=gettext("confirmed on an ECG request"),
                )
            case.submitted_at = clock.now()
            return {
                "channel": intake.channel,
                **({"sender": intake.sender[:100]} if intake.sender else {}),
                "pool": pool.pk,
                "critical": recording.critical,
                "format": record.source_format,
            }

        return perform(actor, consultation.pk, "submit", change=submitted)


def _read(upload: Upload) -> bytes:
    return upload if isinstance(upload, bytes) else upload.read()


def main_file(names: list[str], main: str) -> str:
    """The record's main file: as named, else the one WFDB header, else the only file."""
    if main:
        return main
    headers = [name for name in names if name.lower().endswith(".hea")]
    if len(headers) == 1:
        return headers[0]
    if len(names) == 1:
        return names[0]
    raise ValidationFailed(
        gettext("Say which file is the record's main file"),
        details={"fields": {"main": gettext("required with several files")}},
    )


def claim(actor: User, consultation_id: int) -> Consultation:
    """Take a waiting ECG from the pool. Exactly one of many experts clicking at once gets it
    (the engine locks the row); the others get ``Taken`` naming the winner."""

    def take(case: Consultation) -> dict[str, Any]:
        moment = clock.now()
        practitioner = actor.practitioner
        case.assigned_expert = actor
        case.assigned_institution = actor.institution
        case.assigned_department = practitioner.department if practitioner else None
        case.first_response_at = case.first_response_at or moment
        EcgRecording.objects.unscoped("the claim's own recording").filter(
            consultation_id=case.pk
        ).update(claimed_at=moment)
        patient_services.grant_access(
            actor,
            case.patient,
            actor,
            reason=gettext("claimed ECG"),
            source=f"consultation:{case.pk}",
        )
        return {"expert": actor.get_username()}

    try:
        return perform(actor, consultation_id, "claim", change=take)
    except NotFound:
        # The winner's commit took the case out of this expert's scope while they waited on
        # the row lock: tell a pool colleague who has it; anyone else learns nothing.
        winner = _claimed_by(actor, consultation_id)
        if winner is None:
            raise
        audit.denied(
            actor,
            Action.UPDATE,
            object_type="consultation",
            object_id=consultation_id,
            reason="already claimed",
            detail={"by": winner.get_username()},
        )
        raise Taken(
            gettext("Taken by %(name)s") % {"name": display_name(winner)},
            details={"taken_by": {"id": winner.pk, "name": display_name(winner)}},
        ) from None


def _claimed_by(actor: User, consultation_id: int) -> User | None:
    case = (
        Consultation.objects.unscoped("who claimed an ECG of the actor's duty pool")
        .filter(pk=consultation_id, kind=Kind.ECG, state__in=CLAIMED_STATES)
        .select_related("assigned_expert__practitioner")
        .first()
    )
    if case is None or case.assigned_expert is None:
        return None
    recording = EcgRecording.objects.unscoped("the case's pool").filter(consultation=case).first()
    if recording is None or not pools.case_pool_ids(recording) & pools.on_duty_pool_ids(actor.pk):
        return None
    return case.assigned_expert


def release(actor: User | None, consultation_id: int, reason: str) -> Consultation:
    """Give a claimed ECG back to its pool: by the claimer, or by the platform (actor None)
    when the claim was not reported in ``ECG_RETURN_MINUTES``. The claimer's access ends."""

    def give_back(case: Consultation) -> dict[str, Any]:
        previous = case.assigned_expert_id
        patient_services.revoke_access(actor, source=f"consultation:{case.pk}")
        case.assigned_expert = None
        case.assigned_institution = None
        case.assigned_department = None
        EcgRecording.objects.unscoped("the release's own recording").filter(
            consultation_id=case.pk
        ).update(claimed_at=None)
        return {"previous_expert": previous}

    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            gettext("Give a reason"), details={"fields": {"reason": gettext("is required")}}
        )
    return perform(actor, consultation_id, "release", reason=reason, change=give_back)
