"""The ecg app's JSON API routes (mounted in telemed/api.py): intake, the pool worklist, the
case with its samples, claim, release and the signed report. Thin over services and queries.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from telemed.accounts.models import User
from telemed.core.errors import ValidationFailed
from telemed.ecg import present, queries, reports, services
from telemed.ecg.schemas import (
    EcgCaseOut,
    EcgCaseRowOut,
    EcgReleaseIn,
    EcgReleaseOut,
    EcgReportIn,
    EcgReportOut,
)
from telemed.patients import queries as patient_queries

router = Router(tags=["ecg"])
MAX_FILES = 8


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


@router.post(
    "/cases",
    response={201: EcgCaseOut},
    summary="Send an ECG (multipart: one or more files; WFDB: the .hea and its .dat). "
    "It is read, measured and submitted to your site's ECG pool in one step.",
)
def submit(
    request: HttpRequest,
    patient_id: Form[int],
    files: File[list[UploadedFile]],
    main: Form[str] = "",
    urgency: Form[str] = "routine",
    clinical_summary: Form[str] = "",
    question: Form[str] = "",
    consent_confirmed: Form[bool] = False,
) -> Status[dict[str, Any]]:
    user = _user(request)
    if not files or len(files) > MAX_FILES:
        raise ValidationFailed(
            gettext("Send between 1 and %(max)d files") % {"max": MAX_FILES},
            details={"fields": {"files": gettext("too many or none")}},
        )
    uploads = {str(f.name): f for f in files}
    patient = patient_queries.get_patient(user, patient_id, audit_read=False)
    case = services.submit_ecg(
        user,
        patient,
        uploads,
        main=services.main_file(list(uploads), main),
        intake=services.Intake(
            urgency=urgency,
            clinical_summary=clinical_summary[:20000],
            question=question[:5000],
            consent_confirmed=consent_confirmed,
            channel="api",
        ),
    )
    # The case as the submit step left it: its creation is audited, so no read event here.
    return Status(201, present.detail(user, case))


@router.get("/worklist", response=list[EcgCaseRowOut], summary="The pool worklist: critical first")
def worklist(request: HttpRequest) -> list[dict[str, Any]]:
    return [present.row(case) for case in queries.worklist(_user(request))]


@router.get("/cases/{int:consultation_id}", response=EcgCaseOut, summary="One ECG case")
def case(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    user = _user(request)
    return present.detail(user, queries.get_case(user, consultation_id))


@router.get(
    "/cases/{int:consultation_id}/samples",
    url_name="ecg_samples",
    summary="A window of the tracing: little-endian int32 microvolts, lead after lead "
    "(headers X-Leads, X-Sampling-Rate, X-First-Sample, X-Samples-Per-Lead)",
    response={200: None},
)
def samples(
    request: HttpRequest, consultation_id: int, start: float = 0.0, seconds: float = 10.0
) -> HttpResponse:
    rec, first, data = queries.window(_user(request), consultation_id, start, seconds)
    response = HttpResponse(data.tobytes(order="C"), content_type="application/octet-stream")
    response["X-Leads"] = ",".join(rec.leads)
    response["X-Sampling-Rate"] = f"{rec.sampling_rate:g}"
    response["X-First-Sample"] = str(first)
    response["X-Samples-Per-Lead"] = str(data.shape[1])
    response["X-Total-Samples"] = str(rec.n_samples)
    response["Cache-Control"] = "private, max-age=300"
    return response


@router.post(
    "/cases/{int:consultation_id}/claim",
    response=EcgCaseOut,
    summary="Take the ECG from the pool; 409 with taken_by when someone was first",
)
def claim(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    user = _user(request)
    services.claim(user, consultation_id)
    return present.detail(user, queries.get_case(user, consultation_id))


@router.post(
    "/cases/{int:consultation_id}/release",
    response=EcgReleaseOut,
    summary="Give a claimed ECG back to its pool",
)
def release(request: HttpRequest, consultation_id: int, body: EcgReleaseIn) -> dict[str, Any]:
    case = services.release(_user(request), consultation_id, body.reason)
    return {"id": case.pk, "state": case.state}  # the claimer no longer sees the rest


@router.post(
    "/cases/{int:consultation_id}/report",
    response={201: EcgReportOut},
    summary="Sign the report (the case's conclusion); the requester is told at once",
)
def report(request: HttpRequest, consultation_id: int, body: EcgReportIn) -> Status[dict[str, Any]]:
    user = _user(request)
    reports.sign_report(
        user,
        consultation_id,
        reports.ReportDraft(
            phrases=tuple(body.phrases),
            measurements=dict(body.measurements),
            findings=body.findings,
            diagnosis=body.diagnosis,
            icd10_codes=tuple(body.icd10_codes),
            recommendations=body.recommendations,
        ),
    )
    signed = present.report(queries.get_case(user, consultation_id))
    assert signed is not None  # just signed, in this request
    return Status(201, signed)
