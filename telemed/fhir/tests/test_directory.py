"""Organization, Practitioner, PractitionerRole, Location: read and search, validated."""

from __future__ import annotations

from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization

from telemed.fhir.resources.location import LOCATION
from telemed.fhir.resources.organization import ORGANIZATION
from telemed.fhir.systems import INSTITUTION_ID
from telemed.fhir.tests.conftest import make_his, outcome, valid


def test_directory_reads_and_searches(network, team):
    his = make_his(
        "COUNTY_A",
        "system/Organization.rs system/Practitioner.rs system/PractitionerRole.rs system/Location.rs",
    )
    county = his.call("GET", f"/fhir/Organization?identifier={INSTITUTION_ID}|COUNTY_A").json_body
    valid(county)
    organization = county["entry"][0]["resource"]
    assert organization["name"] == "安阳县人民医院"
    assert organization["partOf"]["reference"] == f"Organization/{network.city_a.pk}"
    assert len(his.call("GET", "/fhir/Organization?type=county").json_body["entry"]) == 2
    practitioner_id = team.expert.practitioner_id
    for path in (
        f"Organization/{network.province.pk}",
        f"Practitioner/{practitioner_id}",
        f"PractitionerRole/{practitioner_id}",
        f"Location/{team.room.pk}",
    ):
        response = his.call("GET", f"/fhir/{path}")
        assert response.status_code == 200, path
        valid(response.json_body)
    roles = his.call("GET", "/fhir/PractitionerRole?specialty=cardiology").json_body
    assert roles["entry"][0]["resource"]["organization"]["identifier"]["value"] == "PROV"
    rooms = his.call("GET", f"/fhir/Location?identifier=PROV/{team.room.code}").json_body
    assert [e["resource"]["id"] for e in rooms["entry"]] == [str(team.room.pk)]
    outcome(his.call("GET", "/fhir/Organization/999999"), 404)
    outcome(his.call("GET", "/fhir/Patient"), 403)


def test_directory_round_trips(network, team):
    organization = ORGANIZATION.render(network.county_a)
    Organization.model_validate(organization)
    assert organization["identifier"][0]["value"] == network.county_a.code
    assert organization["type"][0]["coding"][0]["code"] == network.county_a.tier
    location = LOCATION.render(team.room)
    Location.model_validate(location)
    institution, code = location["identifier"][0]["value"].split("/")
    assert (institution, code) == (team.room.institution.code, team.room.code)
