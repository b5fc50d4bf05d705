"""Sending an ECG through the API: read, measured, stored and submitted in one step; bad
input gets a 4xx with the reason and writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from telemed.audit.models import AuditEvent
from telemed.consultations.models import Consultation
from telemed.ecg import samples
from telemed.ecg.models import EcgRecording, EcgSourceFile
from telemed.ecg.testing import wfdb_files
from telemed.storage.models import Blob
from telemed.testing import sign_in

URL = "/api/ecg/cases"


@pytest.fixture
def client_alice(client, world):
    sign_in(client, world.requester)
    return client


def upload(client, world, files: dict[str, bytes], **fields):
    data = {
        "patient_id": str(world.patient.pk),
        "files": [SimpleUploadedFile(name, content) for name, content in files.items()],
        **fields,
    }
    return client.post(URL, data)


def counts() -> tuple[int, int, int]:
    return (
        Consultation.objects.unscoped("test").count(),
        EcgRecording.objects.unscoped("test").count(),
        EcgSourceFile.objects.unscoped("test").count(),
    )


def test_it_works(client_alice, world):
    response = upload(client_alice, world, wfdb_files(heart_rate=60))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "accepted" and body["state_label"]
    assert body["leads"][:3] == ["I", "II", "III"] and body["sampling_rate"] == 500
    assert body["n_samples"] == 5000 and body["source_format"] == "wfdb"
    assert abs(body["measurements"]["heart_rate_bpm"] - 60) < 3
    assert body["critical"] is False
    assert "sinus_rhythm" in body["suggested_phrases"]
    recording = EcgRecording.objects.unscoped("test").get(consultation_id=body["id"])
    names = sorted(recording.files.values_list("name", flat=True))
    assert names == ["rec.dat", "rec.hea"]
    # The compact samples read back as the microvolts that were sent.
    tracing = samples.read_all(recording.samples_id, 12, 5000)
    assert tracing.dtype == np.dtype("<i4") and np.abs(tracing).max() > 500


def test_the_samples_endpoint_serves_a_window(client_alice, world):
    case_id = upload(client_alice, world, wfdb_files()).json()["id"]
    response = client_alice.get(f"{URL}/{case_id}/samples?start=2&seconds=2.5")
    assert response.status_code == 200
    assert response["X-First-Sample"] == "1000" and response["X-Samples-Per-Lead"] == "1250"
    assert len(response.content) == 12 * 1250 * 4
    assert client_alice.get(f"{URL}/{case_id}/samples?seconds=600").status_code == 422


def test_a_slow_rate_is_critical_and_first_in_the_worklist(client, world):
    sign_in(client, world.requester)
    routine = upload(client, world, wfdb_files(heart_rate=70)).json()
    critical = upload(client, world, wfdb_files(heart_rate=35)).json()
    assert critical["critical"] is True and "low_rate_critical" in critical["flags"]
    client.logout()
    sign_in(client, world.experts[0])
    rows = client.get("/api/ecg/worklist").json()
    assert [row["id"] for row in rows] == [critical["id"], routine["id"]]


def _csv(rate: int, seconds: float, *, value: str = "100") -> bytes:
    rows = "\n".join(f"{value},{value}" for _ in range(int(rate * seconds)))
    return f"# sampling_rate={rate}\nI,II\n{rows}\n".encode()


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE AnnotatedECG [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<AnnotatedECG xmlns="urn:hl7-org:v3">&e;</AnnotatedECG>'
)
BAD = {
    "not a record": ({"rec.hea": b"this is not a header\n"}, 422),
    "xml with an external entity": ({"ecg.xml": XXE}, 422),
    "NaN samples": ({"ecg.csv": _csv(500, 10, value="nan")}, 422),
    "a one-second record": ({"ecg.csv": _csv(500, 1)}, 422),
    "a rate under 100 Hz": ({"ecg.csv": _csv(50, 10)}, 422),
    "an empty file": ({"ecg.csv": b""}, 422),
    "header without its signal file": ({"rec.hea": wfdb_files()["rec.hea"]}, 422),
    "unknown format": ({"ecg.bin": b"\x00\x01\x02"}, 422),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_records_are_refused_and_nothing_is_written(client_alice, world, case):
    files, status = BAD[case]
    before, blobs = counts(), Blob.objects.count()
    response = upload(client_alice, world, files)
    assert response.status_code == status, response.content
    assert response.json()["message"]
    assert counts() == before and Blob.objects.count() == blobs


def test_nan_samples_are_refused(client_alice, world):
    files = wfdb_files()
    # A truncated signal file: leads of different lengths for the header's sample count.
    files["rec.dat"] = files["rec.dat"][: len(files["rec.dat"]) // 3]
    before = counts()
    response = upload(client_alice, world, files)
    assert response.status_code == 422
    assert counts() == before


def test_an_oversized_upload_is_refused_before_reading(client_alice, world, settings):
    settings.ECG_MAX_BYTES = 4096
    response = upload(client_alice, world, wfdb_files())
    assert response.status_code == 413
    assert counts() == (0, 0, 0)


def test_without_consent_it_is_refused(client_alice, world):
    from telemed.patients import services as patient_services
    from telemed.patients.models import ConsentKind

    patient_services.record_consent(
        world.requester, world.patient, ConsentKind.TELEMEDICINE, False, note="withdrawn"
    )
    response = upload(client_alice, world, wfdb_files())
    assert response.status_code == 422
    assert "consent_confirmed" in response.json()["fields"]
    assert counts() == (0, 0, 0)
    assert upload(client_alice, world, wfdb_files(), consent_confirmed="true").status_code == 201


def test_another_countys_doctor_cannot_send_for_alices_patient(client, world, charlie):
    sign_in(client, charlie)
    response = upload(client, world, wfdb_files())
    assert response.status_code == 404
    assert counts() == (0, 0, 0)


def test_an_expert_cannot_send(client, world):
    sign_in(client, world.experts[0])
    assert upload(client, world, wfdb_files()).status_code in (403, 404)
    assert counts() == (0, 0, 0)


def test_a_site_without_a_pool_is_told_so(client, world):
    # County A's own pool and its parent's (city A) gone: nothing serves it.
    world.pool.delete()
    world.escalation_pool.delete()
    sign_in(client, world.requester)
    response = upload(client, world, wfdb_files())
    message = response.json()["message"]
    assert response.status_code == 422 and ("pool" in message or "资源池" in message)
    assert counts() == (0, 0, 0)


def test_claim_through_the_api_names_the_winner(client, world):
    sign_in(client, world.requester)
    case_id = upload(client, world, wfdb_files()).json()["id"]
    first, second = world.experts[:2]
    client.logout()
    sign_in(client, first)
    assert client.post(f"{URL}/{case_id}/claim").status_code == 200
    client.logout()
    sign_in(client, second)
    response = client.post(f"{URL}/{case_id}/claim")
    assert response.status_code == 409
    assert response.json()["error"] == "taken"
    assert response.json()["taken_by"]["id"] == first.pk
    assert client.get(f"{URL}/{case_id}").status_code == 404
    refused = AuditEvent.objects.filter(outcome="denied", object_id=str(case_id))
    assert refused.filter(detail__reason="already claimed").exists()
    assert json.dumps(response.json(), ensure_ascii=False).count("王") >= 1


@pytest.mark.parametrize("variant", ["dicom", "aecg", "csv", "fhir"])
def test_every_intake_format_arrives_the_same_way(client_alice, world, variant):
    from telemed.ecg.tests import signal_fixtures as fx

    record, _truth = fx.synthetic(heart_rate=75)
    files = {
        "dicom": {"ecg.dcm": fx.dicom_bytes(record)},
        "aecg": {"ecg.xml": fx.aecg_bytes(record)},
        "csv": {"ecg.csv": fx.csv_bytes(record)},
        "fhir": {"ecg.json": fx.fhir_json(record)},
    }[variant]
    response = upload(client_alice, world, files)
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["source_format"] == variant and len(body["leads"]) == 12
    assert abs(body["measurements"]["heart_rate_bpm"] - 75) < 3
