"""ECG intake by DICOMweb STOW-RS, with dicomweb-client (a real DICOMweb client) against
the live server: a 12-lead ECG waveform object becomes an ECG case in the caller's pool,
images in the same request still go to imaging, and a bad waveform is answered in the
FailedSOPSequence with its DIMSE reason while nothing of it is stored."""

from __future__ import annotations

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from requests import HTTPError

from telemed.consultations.models import Consultation
from telemed.ecg.models import EcgRecording
from telemed.ecg.tests import dicom_fixtures as dcm
from telemed.ecg.tests.signal_fixtures import synthetic
from telemed.imaging.models import ImagingInstance
from telemed.imaging.testing import ct_series
from telemed.imaging.tests.dicomweb_helpers import STOW_TYPE, bearer_token, multipart
from telemed.storage.models import Blob

pytestmark = pytest.mark.django_db(transaction=True)

FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
FAILURE_REASON = "00081197"
SOP_INSTANCE = "00081155"


@pytest.fixture
def token(world) -> str:
    return bearer_token("COUNTY_A")


@pytest.fixture
def client(live_server, token) -> DICOMwebClient:
    return DICOMwebClient(
        url=f"{live_server.url}/dicomweb", headers={"Authorization": f"Bearer {token}"}
    )


def ecg_cases():
    return Consultation.objects.unscoped("test").filter(kind="ecg")


def test_a_waveform_stored_by_stow_is_an_ecg_case(world, client):
    ds = dcm.ecg_object(dcm.ptb_twelve_lead())
    answer = client.store_instances([ds])
    [stored] = answer.ReferencedSOPSequence
    assert stored.ReferencedSOPInstanceUID == ds.SOPInstanceUID
    case = ecg_cases().get()
    assert case.patient_id == world.patient.pk and case.state == "accepted"
    assert case.events.get(action="submit").detail["channel"] == "dicomweb"
    recording = EcgRecording.objects.unscoped("test").get(consultation=case)
    assert recording.source_format == "dicom" and len(recording.leads) == 12
    assert recording.pool == world.pool
    # Nothing of it went into the imaging index.
    assert not ImagingInstance.objects.unscoped("test").exists()


def test_images_and_a_waveform_in_one_request_each_go_their_way(
    world, live_server, token, tmp_path
):
    images = ct_series(tmp_path, 2)
    record, _truth = synthetic()
    ecg = dcm.write(dcm.ecg_object(record), tmp_path / "ecg.dcm")
    response = requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=multipart(*(p.read_bytes() for p in [*images, ecg])),
        headers={"Content-Type": STOW_TYPE, "Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()[REFERENCED_SOP_SEQUENCE]["Value"]) == 3
    assert ImagingInstance.objects.unscoped("test").count() == 2
    assert ecg_cases().count() == 1


def test_a_bad_waveform_is_refused_with_its_reason_and_nothing_is_stored(
    world, live_server, token, client, tmp_path
):
    record, _truth = synthetic()
    bad = dcm.with_rate(dcm.ecg_object(record), "20000")
    good = dcm.ecg_object(record)
    blobs = Blob.objects.count()
    with pytest.raises(HTTPError) as refused:
        client.store_instances([bad])
    answer = refused.value.response
    assert answer is not None and answer.status_code == 409
    [failed] = answer.json()[FAILED_SOP_SEQUENCE]["Value"]
    assert failed[SOP_INSTANCE]["Value"] == [bad.SOPInstanceUID]
    assert failed[FAILURE_REASON]["Value"] == [0xC000]
    assert not ecg_cases().exists() and Blob.objects.count() == blobs

    # One good, one bad in the same request: 202, the good one taken.
    response = requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=multipart(
            dcm.write(good, tmp_path / "good.dcm").read_bytes(),
            dcm.write(dcm.ecg_object(record, patient_id="NOBODY"), tmp_path / "x.dcm").read_bytes(),
        ),
        headers={"Content-Type": STOW_TYPE, "Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    [failed] = response.json()[FAILED_SOP_SEQUENCE]["Value"]
    assert failed[FAILURE_REASON]["Value"] == [0x0110]
    assert ecg_cases().count() == 1


def test_a_waveform_posted_to_another_study_is_refused(world, live_server, token, tmp_path):
    ds = dcm.ecg_object(synthetic()[0])
    other = pydicom.uid.generate_uid()
    response = requests.post(
        f"{live_server.url}/dicomweb/studies/{other}",
        data=multipart(dcm.write(ds, tmp_path / "ecg.dcm").read_bytes()),
        headers={"Content-Type": STOW_TYPE, "Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 409, response.text
    [failed] = response.json()[FAILED_SOP_SEQUENCE]["Value"]
    assert failed[FAILURE_REASON]["Value"] == [0xA900]
    assert not ecg_cases().exists()
