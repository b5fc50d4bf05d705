"""Reading the one row a unique filter matches."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def matched(queryset: QuerySet[M]) -> M | None:
    """The row a filter on a unique key (the primary key) matched, or None.

    Like ``.first()`` without the ORDER BY that ``.first()`` adds: for one row there is
    nothing to order, and on a wide ``select_related`` read Django spends more time compiling
    the ordering against every selected column than the database spends on the query."""
    return next(iter(queryset.order_by()[:1]), None)
