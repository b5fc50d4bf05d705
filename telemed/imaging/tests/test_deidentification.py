"""De-identification for an external partner's expert (PS3.15 basic profile): what WADO-RS,
metadata, QIDO and the pages give them carries pseudonyms and no identity, the pseudonyms
are stable and address the study, the pixels are the stored ones; a provincial expert gets
the stored bytes; the patient's consent to outside sharing gives the external expert the
stored bytes too."""

from __future__ import annotations

import json
import re
from typing import Any

import pydicom
import pytest
from django.test import Client

from telemed.audit.models import Action, AuditEvent
from telemed.consultations.testing import build_team
from telemed.imaging.models import ImagingInstance, Pseudonym
from telemed.imaging.tests.deid_helpers import IDENTIFYING, PATIENT_ID, share
from telemed.imaging.tests.dicomweb_helpers import split_multipart
from telemed.patients.services import record_consent
from telemed.storage.blobstore import get_blob_store
from telemed.testing import sign_in

DICOM_ACCEPT = 'multipart/related; type="application/dicom"'


@pytest.fixture
def shared(network, alice, tmp_path):
    return share(network, build_team(network, alice), tmp_path)


def _client(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def _retrieve(client: Client, url: str) -> list[bytes]:
    response: Any = client.get(url, HTTP_ACCEPT=DICOM_ACCEPT)
    assert response.status_code == 200, response.content
    return split_multipart(response["Content-Type"], b"".join(response.streaming_content))


def _stored(study) -> list[bytes]:
    rows = ImagingInstance.objects.unscoped("test").filter(study=study).order_by("instance_number")
    answer = []
    for row in rows:
        with get_blob_store().open(row.blob.sha256) as stream:
            answer.append(stream.read())
    return answer


def _original_uids(study) -> set[str]:
    rows = ImagingInstance.objects.unscoped("test").filter(study=study).select_related("series")
    return (
        {study.study_instance_uid}
        | {r.series.series_instance_uid for r in rows}
        | {r.sop_instance_uid for r in rows}
    )


def _qido_study(client: Client, **query: str) -> list[dict]:
    response = client.get("/dicomweb/studies", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_external_expert_gets_pseudonymised_bytes_with_the_stored_pixels(shared):
    client = _client(shared.external_expert)
    [answer] = _qido_study(client)
    study_uid = answer["0020000D"]["Value"][0]
    assert study_uid.startswith("2.25.") and study_uid != shared.study.study_instance_uid

    parts = _retrieve(client, f"/dicomweb/studies/{study_uid}")
    assert len(parts) == 3
    for part in parts:
        for secret in [*IDENTIFYING, *_original_uids(shared.study)]:
            assert secret.encode() not in part, secret
        assert b"secret note" not in part and "张秀英".encode() not in part
    stored = {
        pydicom.dcmread(_io(b)).InstanceNumber: pydicom.dcmread(_io(b))
        for b in _stored(shared.study)
    }
    for part in parts:
        ds = pydicom.dcmread(_io(part))
        assert ds.PatientIdentityRemoved == "YES"
        codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113106", "113108"]
        assert (
            ds.PatientID.startswith("ANON-") and str(ds.PatientName) == f"ANONYMOUS^{ds.PatientID}"
        )
        assert (
            ds.PatientBirthDate == "" and ds.AccessionNumber == "" and "StudyDescription" not in ds
        )
        assert "OtherPatientIDs" not in ds and not any(e.tag.is_private for e in ds)
        assert ds.StudyInstanceUID == study_uid
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        original = stored[ds.InstanceNumber]
        # Kept by the options: dates, patient characteristics; the pixels byte for byte.
        assert ds.StudyDate == original.StudyDate and ds.PatientSex == original.PatientSex
        assert ds.PixelData == original.PixelData
        assert ds.FrameOfReferenceUID.startswith("2.25.")
    # Stable: the same bytes on the next call, and the same pseudonyms in every answer.
    assert _retrieve(client, f"/dicomweb/studies/{study_uid}") == parts
    assert _qido_study(client)[0]["00100020"] == answer["00100020"]
    # The stored bytes did not change.
    assert all(b"Zhang^Xiuying" in raw for raw in _stored(shared.study))
    event = AuditEvent.objects.filter(action=Action.EXPORT, object_type="imaging_study").last()
    assert event is not None and event.detail["deidentified"] is True
    assert event.detail["recipient"] == "EXT" and event.actor == "dr_ext"


def _io(data: bytes):
    import io

    return io.BytesIO(data)


def test_the_stored_uids_are_no_address_for_the_external_expert(shared):
    client = _client(shared.external_expert)
    response = client.get(
        f"/dicomweb/studies/{shared.study.study_instance_uid}", HTTP_ACCEPT=DICOM_ACCEPT
    )
    assert response.status_code == 404
    assert _qido_study(client, StudyInstanceUID=shared.study.study_instance_uid) == []
    # Matching on what the reader does not see finds nothing; on their pseudonyms it does.
    assert _qido_study(client, PatientName="Zhang*") == []
    assert _qido_study(client, PatientID=PATIENT_ID) == []
    [answer] = _qido_study(client)
    pseudonym = answer["00100020"]["Value"][0]
    assert len(_qido_study(client, PatientID=pseudonym)) == 1
    assert len(_qido_study(client, StudyInstanceUID=answer["0020000D"]["Value"][0])) == 1
    assert "00081030" not in answer  # the description is removed
    assert answer["00100010"]["Value"][0]["Alphabetic"] == f"ANONYMOUS^{pseudonym}"


def test_metadata_series_and_instance_levels_are_pseudonymised(shared):
    client = _client(shared.external_expert)
    study_uid = _qido_study(client)[0]["0020000D"]["Value"][0]
    [series] = client.get(f"/dicomweb/studies/{study_uid}/series").json()
    series_uid = series["0020000E"]["Value"][0]
    assert "0008103E" not in series  # SeriesDescription removed
    instances = client.get(f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances").json()
    sop = instances[0]["00080018"]["Value"][0]
    metadata = client.get(f"/dicomweb/studies/{study_uid}/series/{series_uid}/metadata")
    assert metadata.status_code == 200
    text = json.dumps(metadata.json())
    for secret in [*IDENTIFYING, *_original_uids(shared.study)]:
        assert secret not in text
    assert {item["00080018"]["Value"][0] for item in metadata.json()} == {
        i["00080018"]["Value"][0] for i in instances
    }
    frames = client.get(
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop}/frames/1",
        HTTP_ACCEPT="multipart/related; type=application/octet-stream",
    )
    assert frames.status_code == 200
    rendered = client.get(
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop}/rendered",
        HTTP_ACCEPT="image/png",
    )
    assert rendered.status_code == 200
    # Only pseudonyms of this recipient are on record, each meaning one original.
    assert set(Pseudonym.objects.values_list("recipient__code", flat=True)) == {"EXT"}


def test_the_provincial_expert_gets_exactly_the_stored_bytes(shared, network):
    from telemed.accounts.models import User

    client = _client(User.objects.get(username="dr_wang"))
    parts = _retrieve(client, f"/dicomweb/studies/{shared.study.study_instance_uid}")
    assert sorted(parts) == sorted(_stored(shared.study))


def test_consent_to_outside_sharing_gives_the_external_expert_the_stored_bytes(shared, alice):
    record_consent(alice, shared.study.patient, "share_external", True)
    client = _client(shared.external_expert)
    [answer] = _qido_study(client)
    assert answer["0020000D"]["Value"][0] == shared.study.study_instance_uid
    assert answer["00100020"]["Value"][0] == PATIENT_ID
    parts = _retrieve(client, f"/dicomweb/studies/{shared.study.study_instance_uid}")
    assert sorted(parts) == sorted(_stored(shared.study))
    # Withdrawn again: the newest decision is in force.
    record_consent(alice, shared.study.patient, "share_external", False)
    assert _qido_study(client)[0]["0020000D"]["Value"][0] != shared.study.study_instance_uid


def test_the_external_experts_pages_show_the_pseudonym(shared):
    client = _client(shared.external_expert)
    case = shared.external_case
    viewer = client.get(f"/imaging/cases/{case.pk}/viewer/")
    assert viewer.status_code == 200
    page = viewer.content.decode()
    found = re.search(r'id="viewer-series"[^>]*>(.*?)</script>', page, re.S)
    assert found is not None
    series = json.loads(found.group(1))
    assert series[0]["study"].startswith("2.25.") and "ANON-" in series[0]["patient"]
    for secret in ["Zhang", PATIENT_ID, "1960-05-17", shared.study.study_instance_uid]:
        assert secret not in page
    # The viewer's addresses work for the expert.
    assert client.get(series[0]["metadata"]).status_code == 200
    assert client.get(series[0]["thumbnail"], HTTP_ACCEPT="image/png").status_code == 200
    panel = client.get(f"/imaging/cases/{case.pk}/panel/")
    assert panel.status_code == 200, panel.status_code
    text = panel.content.decode()
    assert 'data-testid="study-pseudonym"' in text and "Zhang" not in text
    assert PATIENT_ID not in text and "ACC1" not in text
    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    chinese = client.get(f"/imaging/cases/{case.pk}/panel/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "已去标识" in chinese.content.decode()
    # The requester still sees the study as sent.
    requester = _client(case.requested_by)
    assert "Zhang" in requester.get(f"/imaging/cases/{case.pk}/panel/").content.decode()
