"""Annotation sizes in micrometres from level-0 pixels and the slide's pixel size."""

from __future__ import annotations

import math

import pytest

from telemed.core.errors import ValidationFailed
from telemed.pathology.geometry import clean_points, measure


def test_measurements() -> None:
    assert measure("ellipse", [[0, 0], [400, 200]], 0.5, 0.5)["area_um2"] == pytest.approx(
        math.pi * 100 * 50, rel=1e-6
    )
    square = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]]
    assert measure("area", square, 0.25, 0.25) == {"area_um2": 625.0}
    assert measure("freehand", [[0, 0], [30, 40], [30, 80]], 1, 1) == {"length_um": 90.0}
    assert measure("arrow", [[0, 0], [3, 4]], 2, 2) == {"length_um": 10.0}
    assert measure("point", [[1, 1]], 1, 1) == {}
    # Without a pixel size nothing is claimed in micrometres.
    assert measure("distance", [[0, 0], [3, 4]], None, None) == {}


def test_points_are_checked() -> None:
    assert clean_points("point", [[1.234567, 2]], 10, 10) == [[1.23, 2.0]]
    for kind, points in (
        ("point", [[float("nan"), 1]]),
        ("point", [[True, 1]]),
        ("point", "1,2"),
        ("freehand", [[0, 0]] * 2001),
        ("distance", [[0, 0], [11, 0]]),
    ):
        with pytest.raises(ValidationFailed):
            clean_points(kind, points, 10, 10)
