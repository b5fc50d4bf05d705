from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from telemed.accounts.models import User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import PermissionDenied
from telemed.patients import queries, services
from telemed.patients.models import Patient
from telemed.patients.schemas import ConsentIn, PatientIn, PatientOut, PatientPage, PatientPatch

router = Router(tags=["patients"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _refuse_forged_institution(user: User, claimed: str | None, action: str) -> None:
    own = user.institution.code if user.institution else None
    if claimed is not None and claimed != own:
        audit.denied(
            user,
            action,
            object_type="patient",
            reason="forged institution field",
            detail={"claimed": claimed[:32]},
        )
        raise PermissionDenied("A request cannot act for another institution")


def _out(patient: Patient) -> dict[str, object]:
    return {
        "id": patient.pk,
        "mpi_id": patient.mpi_id,
        "name": patient.name,
        "name_pinyin": patient.name_pinyin,
        "sex": patient.sex,
        "birth_date": patient.birth_date,
        "resident_id": patient.resident_id,
        "phone": patient.phone,
        "address": patient.address,
        "registrations": [
            {
                "institution": r.institution.code,
                "institution_name": r.institution.name,
                "record_number": r.record_number,
            }
            for r in patient.registrations.select_related("institution")
        ],
        "consents": queries.current_consents(patient),
    }


class SearchParams(Schema):
    q: str = Field(default="", max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


@router.get("/", response=PatientPage, summary="Search patients in your scope")
def list_patients(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    items, total = queries.search_patients(
        _user(request), params.q, limit=params.limit, offset=params.offset
    )
    return {"total": total, "items": items}


@router.post(
    "/",
    response={201: PatientOut, 200: PatientOut},
    summary="Register a patient at your institution",
)
def create_patient(request: HttpRequest, body: PatientIn) -> Status[dict[str, object]]:
    user = _user(request)
    _refuse_forged_institution(user, body.institution, Action.CREATE)
    data = body.dict(exclude={"confirm_new", "institution"})
    result = services.register_patient(
        user, services.NewPatient(**data), confirm_new=body.confirm_new
    )
    return Status(200 if result.linked_existing else 201, _out(result.patient))


@router.get("/{int:patient_id}", response=PatientOut, summary="One patient")
def get_patient(request: HttpRequest, patient_id: int) -> dict[str, object]:
    return _out(queries.get_patient(_user(request), patient_id))


@router.patch("/{int:patient_id}", response=PatientOut, summary="Change demographics")
def patch_patient(request: HttpRequest, patient_id: int, body: PatientPatch) -> dict[str, object]:
    user = _user(request)
    patient = queries.get_patient(user, patient_id, audit_read=False)
    _refuse_forged_institution(user, body.institution, Action.UPDATE)
    changes = {k: v for k, v in body.dict(exclude={"institution"}).items() if v is not None}
    return _out(services.update_patient(user, patient, changes))


@router.post(
    "/{int:patient_id}/consents", response={201: PatientOut}, summary="Record a consent decision"
)
def add_consent(
    request: HttpRequest, patient_id: int, body: ConsentIn
) -> Status[dict[str, object]]:
    user = _user(request)
    patient = queries.get_patient(user, patient_id, audit_read=False)
    services.record_consent(user, patient, body.kind, body.granted, body.note)
    return Status(201, _out(patient))
