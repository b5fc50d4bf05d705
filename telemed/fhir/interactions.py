"""The FHIR interactions on one resource type, shared by the HTTP views and by the entries
of transaction and batch Bundles. Each returns an ``Answer``; errors are raised as
``FhirError`` (or a service's ``DomainError``, which the caller turns into one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from django.db import connection, transaction
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import NotFound
from telemed.fhir import scopes, versions
from telemed.fhir.errors import FhirError
from telemed.fhir.resources import ResourceType, lookup, not_found
from telemed.fhir.search import parse_query

if TYPE_CHECKING:
    from telemed.accounts.models import User


AUDIT_ACTION = {
    "read": Action.READ,
    "vread": Action.READ,
    "search-type": Action.SEARCH,
    "create": Action.CREATE,
    "update": Action.UPDATE,
}


@dataclass
class Caller:
    """Who calls: the user the request acts as, and the client's SMART grants (None for a
    signed-in person). ``base`` is the absolute URL of /fhir, for fullUrl and links."""

    user: User
    grants: scopes.Grants | None
    base: str


@dataclass
class Answer:
    status: int
    resource: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Set when the resource still needs its version stamped (see ``create``).
    kind: ResourceType | None = None


def etag(resource: dict[str, Any]) -> str:
    return f'W/"{resource["meta"]["versionId"]}"'


def _served(caller: Caller, type_name: str, interaction: str) -> ResourceType:
    kind = lookup(type_name)
    if interaction not in kind.interactions:
        raise FhirError(
            405,
            "not-supported",
            _("%(interaction)s is not supported on %(type)s")
            % {"interaction": interaction, "type": type_name},
        )
    try:
        scopes.require(caller.grants, type_name, interaction)
    except FhirError:
        audit.denied(
            caller.user,
            AUDIT_ACTION.get(interaction, Action.READ),
            object_type=kind.audit_type or type_name.lower(),
            reason=f"SMART scope for {interaction} on {type_name} not granted",
        )
        raise
    return kind


def _get(caller: Caller, kind: ResourceType, resource_id: str) -> Any:
    try:
        return kind.get(caller.user, resource_id)
    except NotFound:
        raise not_found(kind.name, resource_id) from None


def resource_answer(
    caller: Caller, kind: ResourceType, resource: dict[str, Any], status: int
) -> Answer:
    headers = {
        "ETag": etag(resource),
        "Last-Modified": resource["meta"]["lastUpdated"],
        "Location": f"{caller.base}/{kind.name}/{resource['id']}/_history/{resource['meta']['versionId']}",
    }
    return Answer(status, resource, headers)


def read(caller: Caller, type_name: str, resource_id: str) -> Answer:
    kind = _served(caller, type_name, "read")
    resource = versions.stamp(kind.render(_get(caller, kind, resource_id)))
    answer = resource_answer(caller, kind, resource, 200)
    answer.headers.pop("Location")
    return answer


def vread(caller: Caller, type_name: str, resource_id: str, version: str) -> Answer:
    kind = _served(caller, type_name, "vread")
    current = versions.stamp(kind.render(_get(caller, kind, resource_id)))
    found = (
        versions.version_of(kind.name, current["id"], int(version)) if version.isdigit() else None
    )
    if found is None:
        raise FhirError(
            404,
            "not-found",
            _("%(type)s/%(id)s has no version %(version)s")
            % {"type": type_name, "id": resource_id[:64], "version": version[:20]},
        )
    return Answer(200, found, {"ETag": etag(found), "Last-Modified": found["meta"]["lastUpdated"]})


def search(caller: Caller, type_name: str, pairs: list[tuple[str, str]]) -> Answer:
    kind = _served(caller, type_name, "search-type")
    query = parse_query(pairs, set(kind.search_params))
    for name in query.include:
        if name not in kind.includes:
            raise FhirError(
                400,
                "not-supported",
                _("_include=%(name)s is not supported on %(type)s")
                % {"name": name[:60], "type": type_name},
                expression=["_include"],
            )
    found = kind.search(caller.user, query)
    # One transaction for the page, the versions and the audit events (the search's and the
    # included reads'), which are appended together at its end.
    with transaction.atomic(), audit.appended_together():
        _plan_for_these_values()
        page = list(found[query.offset : query.offset + query.count + 1])
        more = len(page) > query.count
        page = page[: query.count]
        matches = [kind.render(obj) for obj in page]
        included = _included(caller, kind, page, query.include)
        kind.audit_search(caller.user, query, len(matches))
        stamped = versions.stamp_many(matches + included)
        total = found.count() if query.total else None
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": _links(caller, type_name, pairs, query.offset, query.count, more),
        "entry": [
            {
                "fullUrl": f"{caller.base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match" if index < len(matches) else "include"},
            }
            for index, resource in enumerate(stamped)
        ],
    }
    if total is not None:
        bundle["total"] = total
    return Answer(200, bundle)


def _plan_for_these_values() -> None:
    """Have PostgreSQL plan this transaction's statements for the values they carry.

    Statements are prepared on the server (settings), and after a few executions
    PostgreSQL may keep one generic plan for every value. For a search that is ruinous:
    the plan that suits a birth date matching 30 patients, or a name prefix, reads the whole
    index for another value or cannot use the prefix index at all (measured over 1,000,000
    patients: 2 ms with the values' plan, 500 ms with the generic one)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def _included(
    caller: Caller, kind: ResourceType, page: list[Any], names: list[str]
) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    found = []
    for obj in page:
        for name in names:
            for target, resource_id in kind.include(obj, name):
                key = (target.name, resource_id)
                if key in seen or (target.name == kind.name):
                    continue
                seen.add(key)
                if caller.grants is not None and not caller.grants.allows(target.name, "read"):
                    continue  # a client without read on the included type gets the matches only
                try:
                    # Through the target's own scope: a case in scope does not by itself
                    # open its patient's record to the caller.
                    found.append(target.render(target.get(caller.user, resource_id)))
                except NotFound:
                    continue
    return found


def _links(
    caller: Caller,
    type_name: str,
    pairs: list[tuple[str, str]],
    offset: int,
    count: int,
    more: bool,
) -> list[dict[str, str]]:
    kept = [(name, value) for name, value in pairs if name not in ("_offset", "_count")]

    def url(at: int) -> str:
        return f"{caller.base}/{type_name}?{urlencode([*kept, ('_count', str(count)), ('_offset', str(at))])}"

    links = [{"relation": "self", "url": url(offset)}]
    if more:
        links.append({"relation": "next", "url": url(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": url(max(0, offset - count))})
    return links


def create(
    caller: Caller,
    type_name: str,
    data: dict[str, Any],
    *,
    if_none_exist: str = "",
    stamp: bool = True,
    savepoint: bool = True,
) -> Answer:
    """Create, or with ``if_none_exist`` (a search query) return the one existing match:
    200 with it, 412 when the query matches more than one.

    ``stamp=False`` (a transaction of creates only) leaves the version to the caller, who
    stamps every entry at once inside the same transaction: the Answer then carries the
    resource without ``meta`` and ``kind`` set. ``savepoint=False``: inside a transaction
    that a failure undoes whole (a transaction Bundle's), the entry needs none of its own.
    The audit events are appended together at the end."""
    kind = _served(caller, type_name, "create")
    resource = kind.parse(data)
    with transaction.atomic(savepoint=savepoint), audit.appended_together():
        if if_none_exist:
            if not kind.conditional_create:
                raise FhirError(
                    412,
                    "not-supported",
                    _("Conditional create is not supported on %(type)s") % {"type": type_name},
                )
            scopes.require(caller.grants, type_name, "search-type")
            query = parse_query(
                parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True),
                set(kind.search_params),
            )
            if not query.match:
                raise FhirError(400, "invalid", _("If-None-Exist needs search criteria"))
            query.count = 2
            existing = list(kind.conditional_matches(caller.user, query)[:2])
            kind.audit_search(caller.user, query, len(existing))
            if len(existing) > 1:
                raise FhirError(
                    412,
                    "multiple-matches",
                    _("If-None-Exist matches more than one %(type)s") % {"type": type_name},
                )
            if existing:
                if not stamp:
                    return Answer(200, kind.render(existing[0]), kind=kind)
                found = versions.stamp(kind.render(existing[0]))
                return resource_answer(caller, kind, found, 200)
        obj = kind.create(caller.user, resource)
        if not stamp:
            return Answer(201, kind.render(obj), kind=kind)
        created = versions.stamp(kind.render(obj))
    return resource_answer(caller, kind, created, 201)


def update(
    caller: Caller,
    type_name: str,
    resource_id: str,
    data: dict[str, Any],
    *,
    if_match: str = "",
    savepoint: bool = True,
) -> Answer:
    """``savepoint`` as for ``create``."""
    kind = _served(caller, type_name, "update")
    if data.get("id") != resource_id:
        raise FhirError(
            400,
            "invalid",
            _("The resource's id must be the id in the URL (%(id)s)") % {"id": resource_id[:64]},
            expression=[f"{type_name}.id"],
        )
    resource = kind.parse(data)
    with transaction.atomic(savepoint=savepoint), audit.appended_together():
        try:
            # The write's own audit event covers this read (a refusal is audited as such).
            obj = kind.resolve(caller.user, resource_id)
        except NotFound:
            raise not_found(kind.name, resource_id) from None
        kind.lock(obj)
        current = versions.stamp(kind.render(obj))
        if if_match and if_match.strip() != etag(current):
            raise FhirError(
                412,
                "conflict",
                _("%(type)s/%(id)s is at version %(version)s, not %(wanted)s")
                % {
                    "type": type_name,
                    "id": resource_id[:64],
                    "version": current["meta"]["versionId"],
                    "wanted": if_match.strip()[:20],
                },
            )
        kind.update(caller.user, obj, resource)
        updated = versions.stamp(kind.render(kind.resolve(caller.user, resource_id)))
    answer = resource_answer(caller, kind, updated, 200)
    return answer
