"""dicomweb-client, a real DICOMweb client, against the live server: what was sent comes
back, bytes for bytes, through QIDO, WADO (instances, metadata, frames, rendered) and STOW."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom.data import get_testdata_file

from telemed.imaging.testing import ct_series
from telemed.imaging.tests.dicomweb_helpers import (
    STOW_TYPE,
    bearer_token,
    multipart,
    split_multipart,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(network) -> str:
    return bearer_token("COUNTY_A")


@pytest.fixture
def client(live_server, token) -> DICOMwebClient:
    return DICOMwebClient(
        url=f"{live_server.url}/dicomweb", headers={"Authorization": f"Bearer {token}"}
    )


def test_a_study_goes_in_and_comes_back_identical(tmp_path, live_server, token, client):
    paths = ct_series(tmp_path, 3)
    jpeg2000 = tmp_path / "j2k.dcm"
    shutil.copy(str(get_testdata_file("JPEG2000.dcm")), jpeg2000)
    sent = {pydicom.dcmread(p).SOPInstanceUID: p.read_bytes() for p in [*paths, jpeg2000]}
    # STOW with the exact bytes of the files (dicomweb-client would re-encode datasets).
    response = requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=multipart(*sent.values()),
        headers={"Content-Type": STOW_TYPE, "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    studies = client.search_for_studies(search_filters={"PatientID": "A-0001"})
    assert len(studies) == 1
    study_uid = studies[0]["0020000D"]["Value"][0]
    series = client.search_for_series(study_uid)
    assert [s["00201209"]["Value"][0] for s in series] == [3]
    instances = client.search_for_instances(study_uid, limit=2)
    assert len(instances) == 2

    first = pydicom.dcmread(paths[0])
    retrieved = client.retrieve_instance(study_uid, first.SeriesInstanceUID, first.SOPInstanceUID)
    assert retrieved.PixelData == first.PixelData
    whole = requests.get(
        f"{live_server.url}/dicomweb/studies/{study_uid}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": 'multipart/related; type="application/dicom"',
        },
        timeout=30,
    )
    returned = split_multipart(whole.headers["Content-Type"], whole.content)
    assert sorted(returned) == sorted(
        v for k, v in sent.items() if k != pydicom.dcmread(jpeg2000).SOPInstanceUID
    )

    metadata = client.retrieve_series_metadata(study_uid, first.SeriesInstanceUID)
    assert len(metadata) == 3
    [frame] = client.retrieve_instance_frames(
        study_uid, first.SeriesInstanceUID, first.SOPInstanceUID, frame_numbers=[1]
    )
    assert frame == first.PixelData
    png = client.retrieve_instance_rendered(
        study_uid, first.SeriesInstanceUID, first.SOPInstanceUID, media_types=("image/png",)
    )
    assert Image.open(io.BytesIO(png)).size == (64, 64)


def test_compressed_frames_come_back_as_stored(tmp_path, live_server, token, client):
    source = Path(str(get_testdata_file("JPEG2000.dcm")))
    requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=multipart(source.read_bytes()),
        headers={"Content-Type": STOW_TYPE, "Authorization": f"Bearer {token}"},
        timeout=30,
    ).raise_for_status()
    ds = pydicom.dcmread(source)
    back = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert back.PixelData == ds.PixelData
    response = requests.get(
        f"{live_server.url}/dicomweb/studies/{ds.StudyInstanceUID}/series/"
        f"{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/frames/1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    [frame] = split_multipart(response.headers["Content-Type"], response.content)
    expected = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    assert frame == expected
    rendered = requests.get(
        response.url.replace("/frames/1", "/rendered"),
        headers={"Authorization": f"Bearer {token}", "Accept": "image/jpeg"},
        timeout=30,
    )
    assert rendered.status_code == 200 and rendered.content[:2] == b"\xff\xd8"
