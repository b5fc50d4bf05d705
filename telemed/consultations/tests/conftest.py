import pytest

from telemed.consultations.testing import build_team


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)
