"""Fixtures shared by every test: the small network and the personas (see telemed/testing.py)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TELEMED_VAR_DIR", os.path.join(os.path.dirname(__file__), "var", "test"))


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Fast hashing in tests; the production setting (argon2) is asserted by its own test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from telemed.audit import protection

    # Lets Django empty the append-only audit table between transactional tests.
    protection.purge_permitted = True


@pytest.fixture
def network(db):  # type: ignore[no-untyped-def]
    from telemed.testing import build_network

    return build_network()


@pytest.fixture
def alice(network):  # type: ignore[no-untyped-def]
    from telemed.testing import make_user

    return make_user("alice", "requesting_doctor", network.county_a)


@pytest.fixture
def bob(network):  # type: ignore[no-untyped-def]
    from telemed.testing import make_user

    return make_user("bob", "requesting_doctor", network.county_a)


@pytest.fixture
def charlie(network):  # type: ignore[no-untyped-def]
    from telemed.testing import make_user

    return make_user("charlie", "requesting_doctor", network.county_b)


@pytest.fixture
def alice_patient(alice):  # type: ignore[no-untyped-def]
    from telemed.testing import register

    return register(alice, "张秀英", "A-0001").patient
