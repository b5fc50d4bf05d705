"""Annotation shapes: validation of their points and their size in micrometres.

Points are level-0 slide pixels. A rectangle and an ellipse are given by two opposite
corners of their box; point one point; arrow and distance two (from, to); free hand and area
a polygon of 3 to MAX_POINTS points (free hand may stay open: its length is measured, an
area's region is closed).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from django.utils.translation import gettext

from telemed.core.errors import ValidationFailed
from telemed.pathology.models import AnnotationKind

MAX_POINTS = 2000
EXACT = {
    AnnotationKind.POINT: 1,
    AnnotationKind.ARROW: 2,
    AnnotationKind.DISTANCE: 2,
    AnnotationKind.RECTANGLE: 2,
    AnnotationKind.ELLIPSE: 2,
}


def clean_points(kind: str, points: Any, width: int, height: int) -> list[list[float]]:
    """The points as floats inside the slide; ValidationFailed naming what is wrong."""
    if kind not in AnnotationKind.values:
        raise ValidationFailed(
            gettext("Unknown annotation kind %(kind)s.") % {"kind": str(kind)[:20]}
        )
    if not isinstance(points, list) or not points or len(points) > MAX_POINTS:
        raise ValidationFailed(
            gettext("An annotation needs a list of 1 to %(max)s points.") % {"max": MAX_POINTS}
        )
    wanted = EXACT.get(AnnotationKind(kind))
    if wanted is not None and len(points) != wanted:
        raise ValidationFailed(
            gettext("A %(kind)s annotation has exactly %(count)s point(s).")
            % {"kind": kind, "count": wanted}
        )
    if wanted is None and len(points) < 3:
        raise ValidationFailed(gettext("A free-hand line or an area needs at least 3 points."))
    cleaned = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            or not all(math.isfinite(v) for v in point)
        ):
            raise ValidationFailed(gettext("Each point is a pair of numbers [x, y]."))
        x, y = float(point[0]), float(point[1])
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationFailed(
                gettext("The point (%(x)s, %(y)s) is outside the slide (%(w)s x %(h)s pixels).")
                % {"x": round(x), "y": round(y), "w": width, "h": height}
            )
        cleaned.append([round(x, 2), round(y, 2)])
    return cleaned


def _polygon_area(points: list[list[float]]) -> float:
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def measure(
    kind: str, points: list[list[float]], mpp_x: float | None, mpp_y: float | None
) -> dict[str, float]:
    """Length (µm) and area (µm²) where they apply; empty when the pixel size is unknown."""
    if not mpp_x or not mpp_y:
        return {}
    scaled = [[x * mpp_x, y * mpp_y] for x, y in points]
    if kind in (AnnotationKind.DISTANCE, AnnotationKind.ARROW):
        (x1, y1), (x2, y2) = scaled
        return {"length_um": round(math.hypot(x2 - x1, y2 - y1), 2)}
    if kind in (AnnotationKind.RECTANGLE, AnnotationKind.ELLIPSE):
        (x1, y1), (x2, y2) = scaled
        w, h = abs(x2 - x1), abs(y2 - y1)
        area = w * h if kind == AnnotationKind.RECTANGLE else math.pi * w * h / 4
        return {"width_um": round(w, 2), "height_um": round(h, 2), "area_um2": round(area, 2)}
    if kind == AnnotationKind.AREA:
        return {"area_um2": round(_polygon_area(scaled), 2)}
    if kind == AnnotationKind.FREEHAND:
        length = sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(scaled))
        return {"length_um": round(length, 2)}
    return {}
