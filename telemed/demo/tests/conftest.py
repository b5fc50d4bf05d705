"""The demo network, loaded once per test module.

Loading takes a couple of seconds, so each module loads it once inside an outer transaction
that is rolled back when the module ends; every test then runs in a savepoint of its own
(pytest-django's ``db``), so tests cannot see each other's changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    from telemed.demo.network import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)
