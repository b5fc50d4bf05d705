import pytest

from telemed.ecg.testing import build_world


@pytest.fixture
def world(network, alice):
    return build_world(network)
