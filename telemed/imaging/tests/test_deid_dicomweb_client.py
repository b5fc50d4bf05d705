"""dicomweb-client, as an external partner's viewer would use it against the live server:
it navigates study -> series -> instances -> retrieval by the pseudonymous UIDs it is given,
and what it retrieves is de-identified with the stored pixels."""

from __future__ import annotations

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from django.conf import settings
from django.test import Client

from telemed.consultations.testing import build_team
from telemed.imaging.tests.deid_helpers import IDENTIFYING, share
from telemed.testing import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _session_of(user, live_server) -> requests.Session:
    client = Client()
    sign_in(client, user)
    session = requests.Session()
    name = settings.SESSION_COOKIE_NAME
    session.cookies.set(name, client.cookies[name].value)
    return session


def test_the_external_viewer_navigates_by_pseudonymous_uids(network, alice, tmp_path, live_server):
    shared = share(network, build_team(network, alice), tmp_path)
    client = DICOMwebClient(
        url=f"{live_server.url}/dicomweb", session=_session_of(shared.external_expert, live_server)
    )
    [study] = client.search_for_studies()
    study_uid = study["0020000D"]["Value"][0]
    assert study_uid != shared.study.study_instance_uid
    [series] = client.search_for_series(study_uid)
    series_uid = series["0020000E"]["Value"][0]
    instances = client.search_for_instances(study_uid, series_uid)
    assert len(instances) == 3
    sop = instances[0]["00080018"]["Value"][0]

    retrieved = client.retrieve_instance(study_uid, series_uid, sop)
    assert retrieved.SOPInstanceUID == sop and retrieved.PatientIdentityRemoved == "YES"
    original = next(
        pydicom.dcmread(p)
        for p in shared.paths
        if pydicom.dcmread(p, stop_before_pixels=True).InstanceNumber == retrieved.InstanceNumber
    )
    assert retrieved.PixelData == original.PixelData
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "InstitutionName"):
        assert str(retrieved.get(keyword, "")) not in IDENTIFYING
    metadata = client.retrieve_series_metadata(study_uid, series_uid)
    assert {m["00080018"]["Value"][0] for m in metadata} == {
        i["00080018"]["Value"][0] for i in instances
    }
    [frame] = client.retrieve_instance_frames(study_uid, series_uid, sop, frame_numbers=[1])
    assert frame == original.PixelData
    whole = client.retrieve_study(study_uid)
    assert sorted(d.SOPInstanceUID for d in whole) == sorted(
        i["00080018"]["Value"][0] for i in instances
    )
    rendered = client.retrieve_instance_rendered(
        study_uid, series_uid, sop, media_types=("image/png",)
    )
    assert rendered.startswith(b"\x89PNG")
