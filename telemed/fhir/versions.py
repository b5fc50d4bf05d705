"""Resource versions: ``meta.versionId`` and ``meta.lastUpdated`` of what is served.

The resources are views of the platform's own models, which also change through the
workflow and the pages. So a version is not counted per FHIR write only: whenever the
resource as rendered differs from its last recorded version, a new version is recorded with
its JSON (for vread). A change made elsewhere thus shows as a new version at its next read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from telemed.core import clock
from telemed.fhir.models import ResourceVersion


def content_hash(resource: dict[str, Any]) -> str:
    body = {key: value for key, value in resource.items() if key != "meta"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _with_meta(resource: dict[str, Any], version: ResourceVersion) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version.version)
    meta["lastUpdated"] = version.recorded_at.isoformat()
    return {**resource, "meta": meta}


def stamp(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with its current ``meta``, recording a new version if it changed.

    Call only for a resource read through its type's scoped ``get`` or search."""
    return stamp_many([resource])[0]


def stamp_many(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``stamp`` for a page of search results of one or several types: one query to find
    the latest versions, one insert for the new ones, in one transaction."""
    # Inside a caller's transaction no savepoint is needed for the group (the insert below
    # keeps its own); outside one, this is the transaction.
    with transaction.atomic(savepoint=False):
        return _stamp_many(resources)


def _stamp_many(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], ResourceVersion] = {}
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource["id"])
    # One query for every type (a transaction's Patient, ServiceRequest and Task at once).
    recorded: QuerySet[ResourceVersion] | None = None
    for resource_type, ids in by_type.items():
        rows = ResourceVersion.objects.of_visible_many(resource_type, ids)
        recorded = rows if recorded is None else recorded | rows
    fields = ("resource_type", "resource_id", "version", "recorded_at", "content_hash")
    for row in recorded.only(*fields) if recorded is not None else ():
        key = (row.resource_type, row.resource_id)
        if key not in latest or row.version > latest[key].version:
            latest[key] = row
    fresh: dict[tuple[str, str], ResourceVersion] = {}
    for resource in resources:
        key = (resource["resourceType"], resource["id"])
        digest = content_hash(resource)
        current = fresh.get(key) or latest.get(key)
        if current is None or current.content_hash != digest:
            version = ResourceVersion(
                resource_type=key[0],
                resource_id=key[1],
                version=current.version + 1 if current else 1,
                recorded_at=clock.now(),
                content_hash=digest,
            )
            version.data = _with_meta(resource, version)
            fresh[key] = version
    # A concurrent request that recorded the same change first wins the unique constraint;
    # what it won is then recorded (or read) row by row.
    for key in set(fresh) - _insert_new(list(fresh.values())):
        source = next(r for r in resources if (r["resourceType"], r["id"]) == key)
        fresh[key] = _record(source, fresh[key].content_hash, fresh[key].version)
    stamped = []
    for resource in resources:
        key = (resource["resourceType"], resource["id"])
        stamped.append(_with_meta(resource, fresh.get(key) or latest[key]))
    return stamped


_COLUMNS = ("resource_type", "resource_id", "version", "recorded_at", "content_hash", "data")


def _insert_new(rows: list[ResourceVersion]) -> set[tuple[str, str]]:
    """Insert the versions in one statement, skipping those whose number is taken (``ON
    CONFLICT DO NOTHING``: no savepoint is needed to survive the unique constraint); the
    keys inserted."""
    if not rows:
        return set()
    fields = [(name, ResourceVersion._meta.get_field(name)) for name in _COLUMNS]
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    params = [
        field.get_db_prep_save(getattr(row, name), connection)  # type: ignore[union-attr]
        for row in rows
        for name, field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT % values, params)
        return {(resource_type, resource_id) for resource_type, resource_id in cursor.fetchall()}


# ResourceVersion's table; "one_fhir_version" (type, id, version) is what DO NOTHING answers.
_INSERT = (
    "INSERT INTO fhir_resourceversion "
    "(resource_type, resource_id, version, recorded_at, content_hash, data) "
    "VALUES %s ON CONFLICT DO NOTHING RETURNING resource_type, resource_id"
)


def _record(resource: dict[str, Any], digest: str, number: int) -> ResourceVersion:
    key = (resource["resourceType"], resource["id"])
    while True:
        version = ResourceVersion(
            resource_type=key[0],
            resource_id=key[1],
            version=number,
            recorded_at=clock.now(),
            content_hash=digest,
        )
        version.data = _with_meta(resource, version)
        try:
            # A savepoint: two requests recording the same change race on the unique
            # constraint, and the loser reads the winner's version instead of failing.
            with transaction.atomic():
                version.save(force_insert=True)
            return version
        except IntegrityError:
            winner = ResourceVersion.objects.of_visible(*key).filter(version=number).first()
            if winner is not None and winner.content_hash == digest:
                return winner
            number += 1


def version_of(resource_type: str, resource_id: str, number: int) -> dict[str, Any] | None:
    """One recorded version's JSON. Call only after a scoped read of the resource."""
    row = (
        ResourceVersion.objects.of_visible(resource_type, resource_id)
        .filter(version=number)
        .only("data")
        .first()
    )
    return dict(row.data) if row is not None else None
