"""transaction and batch Bundles posted to /fhir.

A transaction is one database transaction: entries run in FHIR's order (creates, then
updates, then reads; creates ordered so that an entry comes after the ``urn:uuid:`` entries
it references), each ``urn:uuid:`` reference is rewritten to the ``Type/id`` created for it,
and the first failing entry rolls everything back and answers an OperationOutcome naming
that entry. A batch runs each entry on its own and answers each entry's outcome.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from django.db import transaction
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import DomainError
from telemed.fhir import interactions, versions
from telemed.fhir.errors import FhirError, from_domain

if TYPE_CHECKING:
    from telemed.fhir.interactions import Answer, Caller

MAX_ENTRIES = 500
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def process(caller: Caller, bundle: dict[str, Any]) -> dict[str, Any]:
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise FhirError(
            400,
            "invalid",
            _("POST /fhir takes a Bundle of type transaction or batch"),
            expression=["Bundle.type"],
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise FhirError(
            400 if not isinstance(entries, list) else 413,
            "too-long" if isinstance(entries, list) else "structure",
            _("A Bundle holds at most %(count)d entries") % {"count": MAX_ENTRIES},
            expression=["Bundle.entry"],
        )
    checked = [_check_entry(index, entry) for index, entry in enumerate(entries)]
    if kind == "batch":
        return _batch(caller, checked)
    return _transaction(caller, checked)


def _check_entry(index: int, entry: Any) -> dict[str, Any]:
    where = f"Bundle.entry[{index}]"
    request = entry.get("request") if isinstance(entry, dict) else None
    if (
        not isinstance(request, dict)
        or request.get("method") not in _ORDER
        or not request.get("url")
    ):
        raise FhirError(
            400,
            "required",
            _("%(where)s needs request.method and request.url") % {"where": where},
            expression=[f"{where}.request"],
        )
    resource = entry.get("resource")
    if request["method"] in ("POST", "PUT") and not isinstance(resource, dict):
        raise FhirError(
            400,
            "required",
            _("%(where)s needs a resource to %(method)s")
            % {"where": where, "method": request["method"]},
            expression=[f"{where}.resource"],
        )
    if request["method"] in ("DELETE", "PATCH"):
        raise FhirError(
            405,
            "not-supported",
            _("%(where)s: %(method)s is not supported")
            % {"where": where, "method": request["method"]},
            expression=[f"{where}.request.method"],
        )
    return {
        "index": index,
        "where": where,
        "fullUrl": str(entry.get("fullUrl") or ""),
        **request,
        "resource": resource,
    }


def _ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FHIR's processing order; among creates, each after the creates it references."""
    creates = [e for e in entries if e["method"] == "POST"]
    urls = {e["fullUrl"]: e for e in creates if e["fullUrl"].startswith("urn:uuid:")}
    placed: list[dict[str, Any]] = []
    state: dict[int, str] = {}

    def visit(entry: dict[str, Any]) -> None:
        if state.get(entry["index"]) == "done":
            return
        if state.get(entry["index"]) == "visiting":
            raise FhirError(
                400,
                "invalid",
                _("The urn:uuid references of the creates form a cycle"),
                expression=[entry["where"]],
            )
        state[entry["index"]] = "visiting"
        for reference in _references(entry["resource"]):
            if reference in urls and reference != entry["fullUrl"]:
                visit(urls[reference])
        state[entry["index"]] = "done"
        placed.append(entry)

    for entry in creates:
        visit(entry)
    rest = sorted(
        (e for e in entries if e["method"] != "POST"),
        key=lambda e: (_ORDER[e["method"]], e["index"]),
    )
    return placed + rest


def _references(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_references(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_references(item))
    return found


def _rewrite(node: Any, created: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: created.get(value, value)
            if key == "reference" and isinstance(value, str)
            else _rewrite(value, created)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item, created) for item in node]
    return node


def _run(
    caller: Caller,
    entry: dict[str, Any],
    created: dict[str, str],
    *,
    stamp: bool = True,
    whole: bool = False,
) -> Answer:
    """One entry; ``whole``: inside a transaction Bundle, which a failing entry undoes
    whole, so the entry's writes need no savepoint of their own."""
    url = str(entry["url"]).lstrip("/")
    path, _sep, query = url.partition("?")
    parts = [part for part in path.split("/") if part]
    method = entry["method"]
    resource = _rewrite(copy.deepcopy(entry["resource"]), created) if entry["resource"] else None
    if method == "POST" and len(parts) == 1:
        condition = str(entry.get("ifNoneExist") or "")
        for placeholder, target in created.items():
            # ``ifNoneExist: focus=urn:uuid:...`` names a resource of this transaction.
            condition = condition.replace(placeholder, target)
        return interactions.create(
            caller,
            parts[0],
            resource or {},
            if_none_exist=condition,
            stamp=stamp,
            savepoint=not whole,
        )
    if method == "PUT" and len(parts) == 2:
        return interactions.update(
            caller,
            parts[0],
            parts[1],
            resource or {},
            if_match=str(entry.get("ifMatch") or ""),
            savepoint=not whole,
        )
    if method in ("GET", "HEAD"):
        if len(parts) == 1:
            return interactions.search(caller, parts[0], parse_qsl(query, keep_blank_values=True))
        if len(parts) == 2:
            return interactions.read(caller, parts[0], parts[1])
        if len(parts) == 4 and parts[2] == "_history":
            return interactions.vread(caller, parts[0], parts[1], parts[3])
    raise FhirError(
        400,
        "invalid",
        _("%(method)s %(url)s is not an interaction served here")
        % {"method": method, "url": url[:120]},
        expression=[f"{entry['where']}.request.url"],
    )


def _response_entry(caller: Caller, answer: Answer, full_url: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {"status": str(answer.status)}
    if "Location" in answer.headers:
        response["location"] = answer.headers["Location"][len(caller.base) + 1 :]
    if "ETag" in answer.headers:
        response["etag"] = answer.headers["ETag"]
    if "Last-Modified" in answer.headers:
        response["lastModified"] = answer.headers["Last-Modified"]
    entry: dict[str, Any] = {"response": response}
    if answer.resource is not None:
        resource = answer.resource
        if resource.get("resourceType") not in ("Bundle", "OperationOutcome") and "id" in resource:
            entry["fullUrl"] = f"{caller.base}/{resource['resourceType']}/{resource['id']}"
        entry["resource"] = resource
    return entry


def _transaction(caller: Caller, entries: list[dict[str, Any]]) -> dict[str, Any]:
    answers: dict[int, Answer] = {}
    created: dict[str, str] = {}
    # Creates only (the HIS's usual Patient + ServiceRequest + Task): every version is
    # recorded at the end in one insert. With updates or reads among the entries, each
    # entry records its own, so that a later entry sees the versions of the earlier ones.
    at_end = all(entry["method"] == "POST" for entry in entries)
    try:
        # The entries' audit events are appended to the chain together, at the end.
        with transaction.atomic(), audit.appended_together():
            for entry in _ordered(entries):
                try:
                    answer = _run(caller, entry, created, stamp=not at_end, whole=True)
                except FhirError as error:
                    raise error.at(entry["where"]) from None
                except DomainError as error:
                    raise from_domain(error, where=entry["where"]) from None
                answers[entry["index"]] = answer
                if entry["fullUrl"].startswith("urn:uuid:") and answer.resource is not None:
                    created[entry["fullUrl"]] = (
                        f"{answer.resource['resourceType']}/{answer.resource['id']}"
                    )
            pending = [index for index, answer in answers.items() if answer.kind is not None]
            stamped = versions.stamp_many([answers[i].resource or {} for i in pending])
            for index, resource in zip(pending, stamped, strict=True):
                kind = answers[index].kind
                assert kind is not None
                answers[index] = interactions.resource_answer(
                    caller, kind, resource, answers[index].status
                )
    except FhirError as error:
        # After the rollback, so that the record of the refusal survives it.
        audit.record(
            caller.user,
            Action.CREATE,
            object_type="fhir_transaction",
            outcome="failure",
            detail={
                "entries": len(entries),
                "failed": error.expression[:1],
                "status": error.status,
            },
        )
        raise
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [_response_entry(caller, answers[entry["index"]]) for entry in entries],
    }


def _batch(caller: Caller, entries: list[dict[str, Any]]) -> dict[str, Any]:
    answers: dict[int, dict[str, Any]] = {}
    for entry in _ordered(entries):
        try:
            with transaction.atomic():
                answer = _run(caller, entry, {})
            answers[entry["index"]] = _response_entry(caller, answer)
        except (FhirError, DomainError) as problem:
            error = problem if isinstance(problem, FhirError) else from_domain(problem)
            answers[entry["index"]] = {
                "response": {"status": str(error.status), "outcome": error.outcome()}
            }
    return {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [answers[entry["index"]] for entry in entries],
    }
