import pytest

from telemed.accounts.models import Role
from telemed.consultations.testing import build_team
from telemed.testing import make_user


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


@pytest.fixture
def staff(network):
    """Quality control and managers at the province, city A (alice's) and city B."""
    return {
        "city_a_qc": make_user("city_a_qc", Role.QUALITY_CONTROL, network.city_a),
        "city_b_qc": make_user("city_b_qc", Role.QUALITY_CONTROL, network.city_b),
        "city_a_manager": make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a),
        "city_b_manager": make_user("city_b_mgr", Role.CONSULTATION_MANAGER, network.city_b),
    }
