"""Fixtures of the exchange tests: county A's HIS mapped as a member system."""

from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def his(network):
    from telemed.exchange import services

    return services.create_member_system(
        "COUNTY_A",
        name="安阳县人民医院 HIS",
        sending_application="HIS",
        sending_facility="COUNTY_A",
    )
