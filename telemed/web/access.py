"""The guard every page view wears: signed in, and the role may open this page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from telemed.web.menus import may_open

if TYPE_CHECKING:
    from telemed.accounts.models import User

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def page(url_name: str) -> Callable[[View[P]], View[P]]:
    """Require sign-in and a role listed for ``url_name`` in telemed.web.menus."""

    def decorate(view: View[P]) -> View[P]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not may_open(getattr(request.user, "role", None), url_name):
                raise Http404("no such page for this role")
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


def signed_in(request: HttpRequest) -> User:
    """The request's user, typed: the page guard has already required sign-in."""
    return request.user  # type: ignore[return-value]


def is_htmx(request: HttpRequest) -> bool:
    # htmx marks its requests; history restores want the whole page, not the fragment.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_live(
    request: HttpRequest, full: str, fragment: str, context: dict[str, object]
) -> HttpResponse:
    """The whole page, or only its results fragment for an htmx live search."""
    response = render(request, fragment if is_htmx(request) else full, context)
    # The same URL answers two shapes: a cache must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
