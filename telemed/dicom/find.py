"""C-FIND: parse the query (information model, level, keys), check it is a valid query of
that model, and answer from the provider the imaging index registered, limited to the
calling institution's own studies.

The provider does the matching (single value, wildcards, UID lists, ranges, universal);
this module only enforces the query/retrieve model's rules and speaks DIMSE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydicom.dataset import Dataset

from telemed.dicom.files import SUCCESS, is_valid_uid
from telemed.dicom.registry import Association

# The two query/retrieve information models' C-FIND SOP classes (PS3.4 C.6).
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"

PENDING = 0xFF00
CANCELLED = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

LEVELS = {
    STUDY_ROOT_FIND: ("STUDY", "SERIES", "IMAGE"),
    PATIENT_ROOT_FIND: ("PATIENT", "STUDY", "SERIES", "IMAGE"),
}
# The unique key of each level, which a query below that level must give as one value.
UNIQUE_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}

# provider(association, level, identifier) yields the matching identifiers.
FindProvider = Callable[[Association, str, Dataset], Iterable[Dataset]]
_provider: FindProvider | None = None


class BadQuery(Exception):
    pass


def register_provider(provider: FindProvider) -> None:
    global _provider
    _provider = provider


def check_query(model: str, identifier: Dataset) -> str:
    """The query's level, after checking it against the model's hierarchy (PS3.4 C.4.1)."""
    levels = LEVELS.get(model)
    if levels is None:
        raise BadQuery("unsupported information model")
    level = str(identifier.get("QueryRetrieveLevel", "")).strip().upper()
    if level not in levels:
        raise BadQuery(f"query level {level or '(none)'} is not one of {', '.join(levels)}")
    # Hierarchical search: every level above the queried one is fixed by its unique key.
    for above in levels[: levels.index(level)]:
        key = UNIQUE_KEYS[above]
        value = str(identifier.get(key, "") or "").strip()
        if not value or "*" in value or "?" in value or "\\" in value:
            raise BadQuery(f"a {level} query needs one {key}")
        if key != "PatientID" and not is_valid_uid(value):
            raise BadQuery(f"{key} is not a valid UID")
    return level


def answer(
    association: Association, model: str, identifier: Dataset, event: Any
) -> Iterator[tuple[int | Dataset, Dataset | None]]:
    """The (status, identifier) pairs pynetdicom sends back: pending matches, then the end."""
    try:
        level = check_query(model, identifier)
    except BadQuery as problem:
        failure = Dataset()
        failure.Status = IDENTIFIER_DOES_NOT_MATCH
        failure.ErrorComment = str(problem)[:64]
        yield failure, None
        return
    if _provider is None:
        yield UNABLE_TO_PROCESS, None
        return
    try:
        for match in _provider(association, level, identifier):
            if event.is_cancelled:
                yield CANCELLED, None
                return
            match.QueryRetrieveLevel = level
            yield PENDING, match
    except ValueError as problem:
        # A matching key the provider cannot use (a malformed date range, say).
        failure = Dataset()
        failure.Status = IDENTIFIER_DOES_NOT_MATCH
        failure.ErrorComment = str(problem)[:64]
        yield failure, None
        return
    yield SUCCESS, None
