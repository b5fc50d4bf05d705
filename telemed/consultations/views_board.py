"""The board pages: /board/ (the page, or with ?wall=1 the wall display) and /board/rows
(its rows and counts: live changes bring them over the socket, see realtime.py; the page
fetches them after a reconnect and every five minutes)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from telemed.consultations import board
from telemed.web.access import page, signed_in

WS_PATH = "/ws/board/"


def _ms_to_next_day() -> int:
    """Until the board's next day begins (in the platform's time zone, not the screen's)."""
    now = timezone.localtime()
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time.min, now.tzinfo)
    return int((tomorrow - now).total_seconds() * 1000)


def _wall(request: HttpRequest) -> bool:
    return request.GET.get("wall") == "1"


def rows_html(request: HttpRequest, wall: bool) -> str:
    return board.rows_html(signed_in(request), wall=wall)


@page("board:board")
def board_page(request: HttpRequest) -> HttpResponse:
    wall = _wall(request)
    context = {
        "day": timezone.localdate(),
        "rows_html": rows_html(request, wall),
        "wall": wall,
        "ws_path": WS_PATH,
        "time_zone": settings.TIME_ZONE,
        "next_day_ms": _ms_to_next_day(),
    }
    template = "consultations/board/wall.html" if wall else "consultations/board/page.html"
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


@page("board:board")
def rows(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(rows_html(request, _wall(request)))
    add_never_cache_headers(response)
    return response
