"""The FHIR REST API's HTTP side: authentication, content types, and every error as an
OperationOutcome. The interactions themselves are in interactions.py and bundles.py.

Bearer tokens (OAuth2 client credentials, as on the JSON API) for everything; a signed-in
browser session for reads as well (GET only, so no CSRF token is needed: a session cannot
write here).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from telemed.core.auth import bearer_user
from telemed.core.errors import DomainError
from telemed.fhir import bundles, capability, interactions, scopes
from telemed.fhir.errors import FhirError, from_domain
from telemed.fhir.interactions import Answer, Caller
from telemed.fhir.models import ClientScopes

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
ACCEPTED_TYPES = ("application/fhir+json", "application/json")


def _respond(
    status: int, data: dict[str, Any], headers: dict[str, str] | None = None
) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body.encode("utf-8"), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _answer(answer: Answer) -> HttpResponse:
    return _respond(answer.status, answer.resource or {}, answer.headers)


def _caller(request: HttpRequest) -> Caller:
    base = request.build_absolute_uri("/fhir").rstrip("/")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        user = bearer_user(request)
        if user is None:
            raise FhirError(
                401,
                "login",
                _("The bearer token is missing, expired or not valid"),
                headers={"WWW-Authenticate": 'Bearer realm="fhir", error="invalid_token"'},
            )
        client = getattr(user, "api_client", None)
        if client is None:
            return Caller(user, None, base)
        granted = ClientScopes.objects.filter(application_id=client.application_id).first()
        try:
            grants = scopes.parse(granted.scopes) if granted is not None else scopes.NONE
        except scopes.InvalidScope:
            grants = scopes.NONE
        return Caller(user, grants, base)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and request.method in ("GET", "HEAD"):
        return Caller(user, None, base)
    raise FhirError(
        401,
        "login",
        _("Send a bearer token (OAuth2 client credentials)"),
        headers={"WWW-Authenticate": 'Bearer realm="fhir"'},
    )


def _body(request: HttpRequest) -> dict[str, Any]:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        raise FhirError(
            415,
            "not-supported",
            _("Send application/fhir+json (or application/json)"),
        )
    try:
        raw = request.body
    except RequestDataTooBig:
        raise FhirError(413, "too-long", _("The request body is too large")) from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise FhirError(
            400,
            "structure",
            _("The body is not valid JSON: %(error)s") % {"error": str(error)[:200]},
        ) from None
    if not isinstance(data, dict):
        raise FhirError(400, "structure", _("The body must be a JSON object (a FHIR resource)"))
    return data


def fhir_view(
    allowed: tuple[str, ...],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Answer methods not in ``allowed`` with 405, and every error with an OperationOutcome."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise FhirError(
                        405,
                        "not-supported",
                        _("%(method)s is not allowed here") % {"method": str(request.method)[:10]},
                        headers={"Allow": ", ".join(allowed)},
                    )
                return view(request, *args, **kwargs)
            except FhirError as error:
                return _respond(error.status, error.outcome(), error.headers)
            except DomainError as error:
                problem = from_domain(error)
                return _respond(problem.status, problem.outcome())
            except Exception:
                # Nothing a client sends may become an HTML 500; the trace goes to the log.
                log.exception("FHIR request failed: %s %s", request.method, request.path)
                problem = FhirError(500, "exception", _("The server could not process the request"))
                return _respond(500, problem.outcome())

        return wrapper

    return decorate


@fhir_view(("POST",))
def root(request: HttpRequest) -> HttpResponse:
    caller = _caller(request)
    return _respond(200, bundles.process(caller, _body(request)))


@fhir_view(("GET", "HEAD"))
def metadata(request: HttpRequest) -> HttpResponse:
    # Open, as FHIR expects: the statement says how to authenticate.
    return _respond(200, capability.statement(request.build_absolute_uri("/fhir").rstrip("/")))


@fhir_view(("GET", "HEAD", "POST"))
def type_root(request: HttpRequest, type_name: str) -> HttpResponse:
    caller = _caller(request)
    if request.method == "POST":
        return _answer(
            interactions.create(
                caller,
                type_name,
                _body(request),
                if_none_exist=request.headers.get("If-None-Exist", ""),
            )
        )
    pairs = [(name, value) for name in request.GET for value in request.GET.getlist(name)]
    return _answer(interactions.search(caller, type_name, pairs))


@fhir_view(("POST",))
def search_post(request: HttpRequest, type_name: str) -> HttpResponse:
    """``POST Type/_search`` with the parameters form-encoded."""
    caller = _caller(request)
    pairs = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    return _answer(interactions.search(caller, type_name, pairs))


@fhir_view(("GET", "HEAD", "PUT"))
def instance(request: HttpRequest, type_name: str, resource_id: str) -> HttpResponse:
    caller = _caller(request)
    if request.method == "PUT":
        return _answer(
            interactions.update(
                caller,
                type_name,
                resource_id,
                _body(request),
                if_match=request.headers.get("If-Match", ""),
            )
        )
    return _answer(interactions.read(caller, type_name, resource_id))


@fhir_view(("GET", "HEAD"))
def version(
    request: HttpRequest, type_name: str, resource_id: str, version_id: str
) -> HttpResponse:
    caller = _caller(request)
    return _answer(interactions.vread(caller, type_name, resource_id, version_id))


@fhir_view(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))
def unknown(request: HttpRequest) -> HttpResponse:
    """Any other path under /fhir: a FHIR 404, not the site's HTML page."""
    raise FhirError(
        404, "not-found", _("No FHIR endpoint at %(path)s") % {"path": request.path[:120]}
    )
