"""The demo's pathology case loads once, with two readable slides."""

from __future__ import annotations

from telemed.directory.models import Institution, Tier
from telemed.pathology import demo
from telemed.pathology.models import Slide
from telemed.testing import make_user, register


def test_demo_loads_once(network) -> None:
    county = Institution.objects.create(
        code="DEMO_COUNTY",
        name="示范县人民医院",
        name_en="Demo County Hospital",
        tier=Tier.COUNTY_HOSPITAL,
        region=network.county_a.region,
        parent=network.city_a,
    )
    doctor = make_user("doctor", "requesting_doctor", county)
    register(doctor, "赵丽华", "D-0001")
    assert demo.load() == {"pathology_cases": 1, "pathology_slides": 2}
    assert demo.load() == {"pathology_cases": 0}
    vendors = sorted(Slide.objects.visible_to(doctor).values_list("vendor", flat=True))
    assert vendors == ["aperio", "generic-tiff"]
