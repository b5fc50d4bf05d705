"""The day's board (今日会诊安排): today's consultations in time order and the day's counts.

Rows come from ``queries.todays_board(user)``, so the user's scope decides what is on it: the
province centre's staff see the province, a city sub-centre's staff their city, an expert the
cases assigned to them, a requesting doctor their institution's. The board names no patient:
it hangs on a wall.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language

from telemed.accounts.scoping import Scope, scope_for
from telemed.consultations import queries
from telemed.consultations.states import State, Urgency

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation

DONE = frozenset({State.CONCLUDED, State.CLOSED})
IN_SESSION = frozenset({State.IN_SESSION})


@dataclass(frozen=True)
class Row:
    id: int
    number: str
    start: dt.datetime | None
    end: dt.datetime | None
    requesting_institution: str
    department: str
    expert: str
    room: str
    state: str
    state_label: str
    urgency: str
    urgency_label: str

    @property
    def done(self) -> bool:
        return self.state in DONE

    @property
    def in_session(self) -> bool:
        return self.state in IN_SESSION


@dataclass(frozen=True)
class Board:
    day: dt.date
    rows: list[Row] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def done(self) -> int:
        return sum(1 for row in self.rows if row.done)

    @property
    def in_session(self) -> int:
        return sum(1 for row in self.rows if row.in_session)

    @property
    def waiting(self) -> int:
        """Not yet started: booked, or assigned and waiting for its time."""
        return self.total - self.done - self.in_session

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(row.id for row in self.rows)


def _row(c: Consultation, labels: dict[str, str]) -> Row:
    if c.assigned_department is not None:
        department = str(c.assigned_department)
    elif c.wanted_specialty is not None:
        department = str(c.wanted_specialty)
    else:
        department = ""
    expert = ""
    if c.assigned_expert is not None:
        expert = c.assigned_expert.get_full_name() or c.assigned_expert.get_username()
    return Row(
        id=c.pk,
        number=c.number,
        start=timezone.localtime(c.scheduled_start) if c.scheduled_start else None,
        end=timezone.localtime(c.scheduled_end) if c.scheduled_end else None,
        requesting_institution=str(c.requesting_institution),
        department=department,
        expert=expert,
        room=str(c.room) if c.room else "",
        state=c.state,
        state_label=labels.get(c.state, c.state),
        urgency=c.urgency,
        urgency_label=labels.get(c.urgency, c.urgency),
    )


def board_for(user: User, day: dt.date | None = None) -> Board:
    """The user's board for ``day`` (today by default, in the platform's time zone)."""
    day = day or timezone.localdate()
    found = (
        queries.todays_board(user, day)
        .select_related(None)
        .select_related(
            "requesting_institution",
            "assigned_department",
            "wanted_specialty",
            "assigned_expert",
            "room",
        )
        .only(
            "pk",
            "number",
            "state",
            "urgency",
            "scheduled_start",
            "scheduled_end",
            "requesting_institution__name",
            "requesting_institution__name_en",
            "assigned_department__name",
            "assigned_department__name_en",
            "wanted_specialty__name",
            "wanted_specialty__name_en",
            "assigned_expert__username",
            "assigned_expert__first_name",
            "assigned_expert__last_name",
            "room__name",
            "room__name_en",
        )
    )
    # The labels once per board, not per row (each lookup goes through the translation).
    labels = {value: str(label) for value, label in (*State.choices, *Urgency.choices)}
    return Board(day=day, rows=[_row(c, labels) for c in found])


def board_ids(user: User, day: dt.date | None = None) -> set[int]:
    """The ids on the user's board: what a live viewer has been shown."""
    return set(queries.todays_board(user, day).values_list("pk", flat=True))


# The rendered rows are shared by every viewer with the same scope (a wall of screens, the
# managers' pages): cached per scope, day and language under a generation that every change
# of a consultation moves on, so a cached board is never older than the last change it heard
# of; CACHE_SECONDS bounds what no event announces (a renamed room or expert).
GENERATION_KEY = "board:generation"
CACHE_SECONDS = 60


def _fresh_generation() -> int:
    # Never a value used before, so that an evicted counter cannot bring old rows back.
    return time.time_ns()


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)
        value = cache.get(GENERATION_KEY) or _fresh_generation()
    return int(value)


def changed() -> None:
    """A consultation changed: boards rendered before are stale."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, _fresh_generation(), timeout=None)


def scope_key(scope: Scope) -> str:
    """Users with equal scopes see the same rows (``visible_to`` depends on the scope only)."""
    if scope.everything:
        return "all"
    parts = [
        ",".join(str(pk) for pk in sorted(scope.institution_ids)),
        str(scope.grantee_user_id or ""),
        str(scope.patient_id or ""),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def rows_cache_key(user: User, day: dt.date, variant: str) -> str:
    return ":".join(
        (
            "board:rows",
            str(generation()),
            scope_key(scope_for(user)),
            day.isoformat(),
            get_language() or "",
            variant,
        )
    )


_render_locks: dict[str, threading.Lock] = {}
_render_locks_guard = threading.Lock()


def _render_lock(name: str) -> threading.Lock:
    with _render_locks_guard:
        if len(_render_locks) > 1000:  # scopes x days x languages: a handful in practice
            _render_locks.clear()
        return _render_locks.setdefault(name, threading.Lock())


def rows_html(user: User, *, wall: bool, day: dt.date | None = None) -> str:
    """The board's counts and rows as HTML (the page's first render, its refetches, and the
    live pushes), rendered once per scope and change: a change brings every open board here
    at once, so one renders and the others (same scope, this process) wait and take its rows."""
    day = day or timezone.localdate()

    def render() -> str:
        return render_to_string(
            "consultations/board/_rows.html", {"board": board_for(user, day), "wall": wall}
        )

    if not CACHE_SECONDS:
        return render()
    key = rows_cache_key(user, day, "wall" if wall else "page")
    html: str | None = cache.get(key)
    if html is None:
        with _render_lock(key.split(":", 3)[3]):
            html = cache.get(key)
            if html is None:
                html = render()
                cache.set(key, html, CACHE_SECONDS)
    return html
