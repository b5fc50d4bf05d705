"""Patient: create through the MPI, read, search, conditional create, versions, update."""

from __future__ import annotations

from fhir.resources.R4B.patient import Patient as FhirPatient

from telemed.fhir.resources.patient import PATIENT, demographics
from telemed.fhir.systems import RESIDENT_ID, mrn_system
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import outcome, valid
from telemed.patients.models import Patient, PatientRegistration


def test_it_creates_a_patient_through_the_mpi(his):
    response = his.call("POST", "/fhir/Patient", make.patient())
    assert response.status_code == 201, response.content
    body = response.json_body
    valid(body)
    assert response["ETag"] == 'W/"1"'
    assert response["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    patient = Patient.objects.unscoped("test").get(mpi_id=body["id"])
    assert patient.name == "王淑芬" and patient.name_pinyin == "Wang Shufen"
    registration = PatientRegistration.objects.unscoped("test").get(patient=patient)
    assert registration.institution.code == "COUNTY_A" and registration.record_number == "H-0001"
    systems = {i["system"] for i in body["identifier"]}
    assert {RESIDENT_ID, mrn_system("COUNTY_A")} <= systems


def test_it_reads_in_scope_only(his, other_his):
    created = his.call("POST", "/fhir/Patient", make.patient()).json_body
    response = his.call("GET", f"/fhir/Patient/{created['id']}")
    assert response.status_code == 200
    assert valid(response.json_body).birthDate.isoformat() == "1958-03-09"
    assert "not known" in outcome(other_his.call("GET", f"/fhir/Patient/{created['id']}"), 404)
    outcome(his.call("GET", "/fhir/Patient/00000000-0000-0000-0000-000000000000"), 404)


def test_it_searches_with_the_common_parameters(his, other_his):
    first = his.call("POST", "/fhir/Patient", make.patient("H-0001", "王淑芬")).json_body
    his.call("POST", "/fhir/Patient", make.patient("H-0002", "李建国", birth="1971-08-02"))
    cases = {
        f"identifier={mrn_system('COUNTY_A')}|H-0001": 1,
        "identifier=H-0002": 1,
        "name=王": 1,
        "family=李": 1,
        "given=淑芬": 1,
        "birthdate=1958": 1,
        "birthdate=ge1960-01-01": 1,
        "birthdate=lt1960-01-01": 1,
        "gender=female": 2,
        f"_id={first['id']}": 1,
        "name=Wang": 2,
    }
    for query, count in cases.items():
        response = his.call("GET", f"/fhir/Patient?{query}")
        assert response.status_code == 200, (query, response.content)
        bundle = response.json_body
        valid(bundle)
        assert bundle["type"] == "searchset"
        assert len(bundle["entry"]) == count, query
    assert other_his.call("GET", "/fhir/Patient?gender=female").json_body.get("entry", []) == []
    outcome(his.call("GET", "/fhir/Patient?colour=blue"), 400)


def test_it_pages_with_stable_links(his):
    for number in range(5):
        his.call(
            "POST", "/fhir/Patient", make.patient(f"H-000{number}", f"张{'一二三四五'[number]}")
        )
    seen = []
    url = "/fhir/Patient?gender=female&_count=2&_total=accurate"
    while url:
        bundle = his.call("GET", url).json_body
        valid(bundle)
        assert bundle["total"] == 5
        seen += [entry["resource"]["id"] for entry in bundle["entry"]]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = following[0].split("testserver", 1)[1] if following else ""
    assert len(seen) == len(set(seen)) == 5
    assert any(link["relation"] == "previous" for link in bundle["link"])


def test_conditional_create_returns_the_existing_patient(his):
    created = his.call("POST", "/fhir/Patient", make.patient())
    query = f"identifier={mrn_system('COUNTY_A')}|H-0001"
    again = his.call("POST", "/fhir/Patient", make.patient(), headers={"If-None-Exist": query})
    assert again.status_code == 200
    assert again.json_body["id"] == created.json_body["id"]
    assert Patient.objects.unscoped("test").count() == 1
    fresh = his.call(
        "POST",
        "/fhir/Patient",
        make.patient("H-0009", "赵丽"),
        headers={"If-None-Exist": "identifier=H-0009"},
    )
    assert fresh.status_code == 201


def test_update_with_if_match_keeps_versions(his):
    created = his.call("POST", "/fhir/Patient", make.patient()).json_body
    changed = {**created, "telecom": [{"system": "phone", "value": "13911112222"}]}
    changed.pop("meta")
    stale = his.call(
        "PUT", f"/fhir/Patient/{created['id']}", changed, headers={"If-Match": 'W/"7"'}
    )
    assert "version 1" in outcome(stale, 412)
    updated = his.call(
        "PUT", f"/fhir/Patient/{created['id']}", changed, headers={"If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200, updated.content
    assert updated["ETag"] == 'W/"2"'
    assert updated.json_body["telecom"][0]["value"] == "13911112222"
    old = his.call("GET", f"/fhir/Patient/{created['id']}/_history/1")
    assert old.status_code == 200 and old.json_body["telecom"][0]["value"] == "13800000000"
    valid(old.json_body)
    outcome(his.call("GET", f"/fhir/Patient/{created['id']}/_history/9"), 404)
    moved = {**changed, "birthDate": "1960-01-01"}
    outcome(his.call("PUT", f"/fhir/Patient/{created['id']}", moved), 422)


def test_patient_round_trip(his):
    created = his.call("POST", "/fhir/Patient", make.patient()).json_body
    patient = Patient.objects.unscoped("test").get(mpi_id=created["id"])
    rendered = FhirPatient.model_validate(PATIENT.render(patient))
    back = demographics(rendered)
    for field in ("name", "name_pinyin", "sex", "birth_date", "resident_id", "phone", "address"):
        assert back[field] == getattr(patient, field), field


def test_a_duplicate_in_scope_is_refused(his):
    his.call("POST", "/fhir/Patient", make.patient(resident=False))
    twin = make.patient("H-0777", resident=False)
    assert "same name" in outcome(his.call("POST", "/fhir/Patient", twin), 409)


def test_search_by_post(his):
    his.call("POST", "/fhir/Patient", make.patient())
    response = his.call(
        "POST",
        "/fhir/Patient/_search",
        "gender=female&family=%E7%8E%8B",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    assert len(valid(response.json_body).entry) == 1
