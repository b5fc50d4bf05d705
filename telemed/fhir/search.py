"""Parsing FHIR search parameters: the query, token, date and reference forms we serve."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from telemed.fhir.errors import FhirError

# Parameters about the result set, not the match.
CONTROL = frozenset({"_count", "_offset", "_include", "_total", "_format", "_pretty", "_sort"})
# String modifiers served (FHIR's default string match is "starts with").
MODIFIERS = frozenset({"exact", "contains"})
DEFAULT_COUNT = 20
MAX_COUNT = 200


@dataclass
class Query:
    """A search's parameters: ``match`` filters (name -> values, ANDed), and the controls."""

    match: dict[str, list[str]] = field(default_factory=dict)
    count: int = DEFAULT_COUNT
    offset: int = 0
    include: list[str] = field(default_factory=list)
    total: bool = False

    def first(self, name: str) -> str | None:
        values = self.match.get(name)
        return values[0] if values else None


def parse_query(pairs: list[tuple[str, str]], known: set[str]) -> Query:
    """Parse ``pairs``; unknown parameters are refused (400) rather than silently ignored,
    since ignoring one would widen the match the client asked for."""
    query = Query()
    for name, value in pairs:
        if name == "_count":
            query.count = _integer(name, value, minimum=0, maximum=MAX_COUNT)
        elif name == "_offset":
            query.offset = _integer(name, value, minimum=0, maximum=10**9)
        elif name == "_include":
            query.include.append(value)
        elif name == "_total":
            query.total = value == "accurate"
        elif name in CONTROL:
            continue
        else:
            base = name.split(":", 1)[0]
            if base not in known or (":" in name and name.split(":", 1)[1] not in MODIFIERS):
                raise FhirError(
                    400,
                    "not-supported",
                    _("Unknown search parameter %(name)s") % {"name": name},
                    expression=[name],
                )
            if value == "":
                continue
            query.match.setdefault(name, []).append(value)
    return query


def _integer(name: str, value: str, *, minimum: int, maximum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not minimum <= number <= maximum:
        raise FhirError(
            400,
            "invalid",
            _("%(name)s must be a whole number from %(low)d to %(high)d")
            % {"name": name, "low": minimum, "high": maximum},
            expression=[name],
        )
    return number


def alternatives(value: str) -> list[str]:
    """A comma in a value means OR (``status=draft,active``)."""
    return [part.replace("\\,", ",") for part in re.split(r"(?<!\\),", value) if part]


def string_filter(fields: tuple[str, ...], name: str, value: str) -> Q:
    """FHIR string search on ``fields`` (any may match): starts with, or ``:exact`` /
    ``:contains``. Case folds only for the Latin fields (pinyin); Chinese has no case."""
    modifier = name.split(":", 1)[1] if ":" in name else ""
    condition = Q(pk__in=[])
    for field_name in fields:
        lookup = {"exact": "exact", "contains": "icontains"}.get(modifier, "startswith")
        if lookup == "startswith" and field_name.endswith("pinyin"):
            lookup = "istartswith"
        condition |= Q(**{f"{field_name}__{lookup}": value})
    return condition


def token(value: str) -> tuple[str | None, str]:
    """``system|code`` -> (system, code); a bare code -> (None, code)."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, code
    return None, value


def reference_id(value: str, resource_type: str) -> str:
    """``Patient/abc``, a full URL ending so, or a bare ``abc`` -> ``abc``."""
    value = value.rstrip("/")
    marker = f"{resource_type}/"
    if marker in value:
        return value.rsplit(marker, 1)[1].split("/", 1)[0]
    return value


_DATE = re.compile(r"^(eq|ne|lt|gt|le|ge|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T.*)?)?)?$")


def date_filter(field_name: str, value: str, *, is_datetime: bool) -> Q:
    """A FHIR date search (``ge2020-01``, ``1960-05-17``) on a date or datetime field.

    A partial date is the range it covers; ``eq`` matches inside it, ``lt``/``ge`` compare
    with its start, ``gt``/``le`` with its end."""
    match = _DATE.match(value)
    if match is None:
        raise FhirError(
            400,
            "invalid",
            _("%(value)s is not a FHIR date") % {"value": value},
            expression=[field_name],
        )
    prefix = match[1] or "eq"
    year, month, day, rest = int(match[2]), match[3], match[4], match[5]
    try:
        if rest:
            start: Any = dt.datetime.fromisoformat(value[len(match[1] or "") :])
            if timezone.is_naive(start):
                start = timezone.make_aware(start)
            end: Any = start
            if not is_datetime:
                start = end = start.date()
        else:
            if day:
                first = dt.date(year, int(month), int(day))
                after = first + dt.timedelta(days=1)
            elif month:
                first = dt.date(year, int(month), 1)
                after = (first + dt.timedelta(days=32)).replace(day=1)
            else:
                first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
            if is_datetime:
                zone = timezone.get_current_timezone()
                start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
                end = dt.datetime.combine(after, dt.time.min, tzinfo=zone)
            else:
                start, end = first, after
    except ValueError:
        raise FhirError(
            400,
            "invalid",
            _("%(value)s is not a FHIR date") % {"value": value},
            expression=[field_name],
        ) from None
    exact = start == end
    inside = (
        Q(**{field_name: start})
        if exact
        else Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    )
    if prefix == "eq":
        return inside
    if prefix == "ne":
        return ~inside
    if prefix in ("lt", "eb"):
        return Q(**{f"{field_name}__lt": start})
    if prefix in ("ge",):
        return Q(**{f"{field_name}__gte": start})
    if prefix in ("gt", "sa"):
        return Q(**{f"{field_name}__gte" if not exact else f"{field_name}__gt": end})
    # le
    return Q(**{f"{field_name}__lt" if not exact else f"{field_name}__lte": end})
