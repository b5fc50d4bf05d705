"""Every served type walked as another county's HIS with the ids of COUNTY_A's records:
reads answer 404, searches find nothing, and nothing trips an unscoped read."""

from __future__ import annotations

import pytest

from telemed.consultations import services
from telemed.consultations.testing import advance, draft
from telemed.ecg.testing import build_world, send
from telemed.fhir.resources import served
from telemed.fhir.tests.conftest import make_his, outcome, valid
from telemed.fhir.tests.test_imaging_study import indexed_study

DIRECTORY = {"Organization", "Practitioner", "PractitionerRole", "Location"}


@pytest.fixture
def records(network, team):
    case = advance(team, draft(team), "concluded")
    message = services.post_message(team.expert, case.pk, "请补充检查结果。")
    n = case.number
    return {
        "Patient": str(case.patient.mpi_id),
        "ServiceRequest": n,
        "Task": n,
        "Appointment": n,
        "DiagnosticReport": f"{n}-v1",
        "DocumentReference": f"{n}-v1",
        "Communication": f"{n}-m{message.pk}",
        "AuditEvent": "1",
        "ImagingStudy": str(indexed_study(network.county_a, case.patient).pk),
        "Observation": send(build_world(network)).number,
    }


def test_another_institution_sees_none_of_it(records):
    own, other = make_his("COUNTY_A"), make_his("COUNTY_B")
    assert set(served()) - DIRECTORY == set(records)
    for type_name, resource_id in records.items():
        if type_name != "AuditEvent":  # a system client is no auditor, in any institution
            mine = own.call("GET", f"/fhir/{type_name}/{resource_id}")
            assert mine.status_code == 200, (type_name, mine.content)
            valid(mine.json_body)
        outcome(other.call("GET", f"/fhir/{type_name}/{resource_id}"), 404)
        outcome(other.call("GET", f"/fhir/{type_name}/{resource_id}/_history/1"), 404)
        found = other.call("GET", f"/fhir/{type_name}?_count=50")
        assert found.status_code == 200, (type_name, found.content)
        assert found.json_body.get("entry", []) == [], type_name
