"""Slides generated once per test session, and a pathology case with its people."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemed.pathology import slides as slide_files
from telemed.pathology import testing


@pytest.fixture(scope="session")
def slide_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("slides")
    testing.aperio_svs(folder / "breast.svs", 2048, 1536)
    testing.generic_tiff(folder / "generic.tif", 2048, 1536)
    return folder


@pytest.fixture
def svs(slide_dir: Path) -> Path:
    return slide_dir / "breast.svs"


@pytest.fixture
def generic(slide_dir: Path) -> Path:
    return slide_dir / "generic.tif"


@pytest.fixture
def team(network, alice):
    from telemed.consultations.testing import build_team

    return build_team(network, alice)


@pytest.fixture
def case(team):
    return testing.pathology_draft(team)


@pytest.fixture(autouse=True)
def _fresh_handles():
    from django.core.cache import cache

    # Each test's blob store is the shared test one, but caches must not leak between tests.
    cache.clear()
    slide_files.forget_opened()
    yield
    slide_files.forget_opened()
