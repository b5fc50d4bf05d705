from __future__ import annotations

from telemed.directory.models import ExpertProfile


def test_expert_search(client, people, network):
    expert = people["expert"]
    ExpertProfile.objects.create(practitioner=expert.practitioner, summary="心衰")
    client.force_login(people["requesting_doctor"])
    assert "dr_wang医生" in client.get("/experts/").content.decode()
    page = client.get("/experts/", {"department": "cardiology"}).content.decode()
    assert "dr_wang医生" in page
    page = client.get("/experts/", {"department": "皮肤科"}).content.decode()
    assert "dr_wang医生" not in page
    fragment = client.get("/experts/", {"q": "dr_wang"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode()
    assert "dr_wang医生" in fragment.content.decode()
    assert client.get("/experts/", {"q": "x" * 300, "page": "zz"}).status_code == 200


def test_network_by_tier(client, people, network):
    client.force_login(people["requesting_doctor"])
    page = client.get("/network/").content.decode()
    assert network.province.name in page and network.county_b.name in page
    page = client.get("/network/", {"tier": "county"}).content.decode()
    assert 'href="/network/COUNTY_A/"' in page and 'href="/network/CITY_A/"' not in page
    assert client.get("/network/", {"tier": "nonsense"}).status_code == 200


def test_city_subcentre_lists_its_counties(client, people, network):
    client.force_login(people["requesting_doctor"])
    response = client.get("/network/CITY_A/")
    page = response.content.decode()
    assert response.status_code == 200
    assert network.county_a.name in page
    assert network.county_b.name not in page
    assert client.get("/network/NOPE/").status_code == 404


def test_expert_summary_follows_the_language(client, people):
    expert = people["expert"]
    ExpertProfile.objects.create(
        practitioner=expert.practitioner, summary="擅长心衰", summary_en="Heart failure"
    )
    client.force_login(people["requesting_doctor"])
    assert "擅长心衰" in client.get("/experts/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/experts/").content.decode()
    assert "Heart failure" in page and "擅长心衰" not in page
