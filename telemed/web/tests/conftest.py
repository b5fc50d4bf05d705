from __future__ import annotations

import pytest

from telemed.accounts.models import Role
from telemed.testing import make_expert, make_user
from telemed.web.tests.catalog import ensure_compiled


@pytest.fixture(scope="session", autouse=True)
def _catalogue() -> None:
    ensure_compiled()


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    # The page tests are about pages; the second step has its own tests.
    settings.REQUIRE_SECOND_FACTOR = False


@pytest.fixture
def people(network, alice, charlie, alice_patient):
    """One user per role, at the places the demo puts them."""
    return {
        Role.REQUESTING_DOCTOR: alice,
        Role.EXPERT: make_expert("dr_wang", network.province, network.cardiology),
        Role.QUALITY_CONTROL: make_user("qc", Role.QUALITY_CONTROL, network.province),
        Role.CONSULTATION_MANAGER: make_user("mgr", Role.CONSULTATION_MANAGER, network.province),
        Role.PHARMACIST: make_user("pharm", Role.PHARMACIST, network.county_a),
        Role.EDUCATION_MANAGER: make_user("edu", Role.EDUCATION_MANAGER, network.province),
        Role.SUPERVISOR: make_user(
            "sup", Role.SUPERVISOR, network.province, supervised_region=network.city_a_region
        ),
        Role.ADMINISTRATOR: make_user("admin", Role.ADMINISTRATOR, network.province),
        Role.PATIENT: make_user("pat", Role.PATIENT, network.county_a, patient=alice_patient),
    }
