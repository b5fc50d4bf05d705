"""DICOM attribute matching over the index, shared by C-FIND and QIDO-RS (PS3.4 C.2.2.2):
single value, wildcards (``*``, ``?``), UID lists (``a\\b``), date and time ranges
(``20240101-20240131``, ``-20240131``, ``20240101-``) and universal matching (an empty value
matches everything and asks for the attribute back).

Each level (patient, study, series, image) names the attributes it can match and return;
an attribute the index does not hold is returned empty (C-FIND) or ignored (QIDO).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from pydicom.dataset import Dataset

from telemed.imaging.models import ImagingInstance, ImagingSeries, ImagingStudy

if TYPE_CHECKING:
    from telemed.directory.models import Institution


class BadMatch(ValueError):
    """A matching key whose value is not valid for its attribute (a malformed date, say)."""


@dataclass(frozen=True)
class Attr:
    keyword: str
    path: str  # ORM path from the level's model ("" when not matchable)
    kind: str  # uid, text, pn, date, time, int, modalities, count


def _study_attrs(prefix: str) -> list[Attr]:
    return [
        Attr("StudyInstanceUID", f"{prefix}study_instance_uid", "uid"),
        Attr("StudyDate", f"{prefix}study_date", "date"),
        Attr("StudyTime", f"{prefix}study_time", "time"),
        Attr("AccessionNumber", f"{prefix}accession_number", "text"),
        Attr("StudyID", f"{prefix}study_id", "text"),
        Attr("StudyDescription", f"{prefix}study_description", "text"),
        Attr("ReferringPhysicianName", f"{prefix}referring_physician_name", "pn"),
        Attr("PatientID", f"{prefix}patient_dicom_id", "text"),
        Attr("PatientName", f"{prefix}patient_name", "pn"),
        Attr("PatientBirthDate", f"{prefix}patient_birth_date", "date"),
        Attr("PatientSex", f"{prefix}patient_sex", "text"),
    ]


def _series_attrs(prefix: str) -> list[Attr]:
    return [
        Attr("SeriesInstanceUID", f"{prefix}series_instance_uid", "uid"),
        Attr("Modality", f"{prefix}modality", "text"),
        Attr("SeriesNumber", f"{prefix}series_number", "int"),
        Attr("SeriesDescription", f"{prefix}series_description", "text"),
        Attr("BodyPartExamined", f"{prefix}body_part_examined", "text"),
        Attr("SeriesDate", f"{prefix}series_date", "date"),
    ]


LEVELS: dict[str, dict[str, Attr]] = {
    "PATIENT": {
        a.keyword: a
        for a in [
            Attr("PatientID", "patient_dicom_id", "text"),
            Attr("PatientName", "patient_name", "pn"),
            Attr("PatientBirthDate", "patient_birth_date", "date"),
            Attr("PatientSex", "patient_sex", "text"),
            Attr("NumberOfPatientRelatedStudies", "", "count"),
            Attr("NumberOfPatientRelatedSeries", "", "count"),
            Attr("NumberOfPatientRelatedInstances", "", "count"),
        ]
    },
    "STUDY": {
        a.keyword: a
        for a in [
            *_study_attrs(""),
            Attr("ModalitiesInStudy", "modalities", "modalities"),
            Attr("NumberOfStudyRelatedSeries", "series_count", "count"),
            Attr("NumberOfStudyRelatedInstances", "instance_count", "count"),
        ]
    },
    "SERIES": {
        a.keyword: a
        for a in [
            *_study_attrs("study__"),
            *_series_attrs(""),
            Attr("NumberOfSeriesRelatedInstances", "instance_count", "count"),
        ]
    },
    "IMAGE": {
        a.keyword: a
        for a in [
            *_study_attrs("study__"),
            *_series_attrs("series__"),
            Attr("SOPInstanceUID", "sop_instance_uid", "uid"),
            Attr("SOPClassUID", "sop_class_uid", "uid"),
            Attr("InstanceNumber", "instance_number", "int"),
            Attr("Rows", "rows", "int"),
            Attr("Columns", "columns", "int"),
            Attr("NumberOfFrames", "frame_count", "int"),
            Attr("BitsAllocated", "bits_allocated", "int"),
            Attr("AvailableTransferSyntaxUID", "transfer_syntax_uid", "uid"),
        ]
    },
}

# What a QIDO-RS answer carries without includefield (PS3.18 10.6.3.3, the index's share).
DEFAULT_RETURN = {
    "STUDY": [
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "ModalitiesInStudy",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyID",
        "StudyDescription",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ],
    "SERIES": [
        "StudyInstanceUID",
        "Modality",
        "SeriesDescription",
        "SeriesNumber",
        "SeriesInstanceUID",
        "BodyPartExamined",
        "NumberOfSeriesRelatedInstances",
    ],
    "IMAGE": [
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPClassUID",
        "SOPInstanceUID",
        "InstanceNumber",
        "Rows",
        "Columns",
        "NumberOfFrames",
        "BitsAllocated",
        "AvailableTransferSyntaxUID",
    ],
}


def _wildcard_regex(value: str) -> str:
    parts = []
    for char in value:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "^" + "".join(parts) + "$"


def _date(text: str) -> dt.date:
    text = text.strip()
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise BadMatch(f"{text!r} is not a DICOM date (YYYYMMDD)") from None


def _range(value: str) -> tuple[str, str]:
    if value.count("-") != 1:
        return value, value
    low, high = value.split("-")
    return low.strip(), high.strip()


def _date_condition(path: str, value: str) -> Q:
    if "-" in value:
        low, high = _range(value)
        condition = Q()
        if low:
            condition &= Q(**{f"{path}__gte": _date(low)})
        if high:
            condition &= Q(**{f"{path}__lte": _date(high)})
        if not low and not high:
            raise BadMatch("an empty date range")
        return condition
    return Q(**{path: _date(value)})


def _time(text: str, *, upper: bool) -> str:
    digits = text.replace(":", "")
    head, _, fraction = digits.partition(".")
    if not head.isdigit() or len(head) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        raise BadMatch(f"{text!r} is not a DICOM time (HHMMSS)")
    fields = [int(head[i : i + 2]) for i in range(0, len(head), 2)]
    if fields[0] > 23 or any(value > 59 for value in fields[1:]):
        raise BadMatch(f"{text!r} is not a time of day")
    fill = "595959"[len(head) :] if upper else "000000"[len(head) :]
    return head + fill + ("." + fraction if fraction else (".999999" if upper else ""))


def _time_condition(path: str, value: str) -> Q:
    low, high = _range(value)
    if "-" not in value:
        return Q(**{f"{path}__startswith": _time(value, upper=False)[: len(value)]})
    condition = Q()
    if low:
        condition &= Q(**{f"{path}__gte": _time(low, upper=False)})
    if high:
        condition &= Q(**{f"{path}__lte": _time(high, upper=True)})
    return condition


def condition_for(attr: Attr, value: str) -> Q | None:
    """The filter for one matching key, or None for universal matching."""
    value = value.strip()
    if not value or value == "*" or not attr.path or attr.kind == "count":
        return None
    if attr.kind == "uid":
        return Q(**{f"{attr.path}__in": [v.strip() for v in value.split("\\") if v.strip()]})
    if attr.kind == "date":
        return _date_condition(attr.path, value)
    if attr.kind == "time":
        return _time_condition(attr.path, value)
    if attr.kind == "int":
        try:
            return Q(**{attr.path: int(value)})
        except ValueError:
            raise BadMatch(f"{attr.keyword} needs a number") from None
    if attr.kind == "modalities":
        wanted = [v.strip() for v in value.split("\\") if v.strip()]
        return Q(series__modality__in=wanted)
    insensitive = attr.kind == "pn"
    if "*" in value or "?" in value:
        lookup = "iregex" if insensitive else "regex"
        return Q(**{f"{attr.path}__{lookup}": _wildcard_regex(value)})
    return Q(**{f"{attr.path}__{'iexact' if insensitive else 'exact'}": value})


def apply(queryset: QuerySet[Any], level: str, criteria: Mapping[str, str]) -> QuerySet[Any]:
    """Filter ``queryset`` (of the level's model) by the matching keys in ``criteria``."""
    attrs = LEVELS[level]
    needs_distinct = False
    for keyword, value in criteria.items():
        attr = attrs.get(keyword)
        if attr is None:
            continue
        condition = condition_for(attr, value)
        if condition is not None:
            queryset = queryset.filter(condition)
            needs_distinct |= attr.kind == "modalities"
    return queryset.distinct() if needs_distinct else queryset


def _value(row: Any, attr: Attr) -> Any:
    if not attr.path:
        return None
    value: Any = row
    for part in attr.path.split("__"):
        value = getattr(value, part, None) if not isinstance(value, dict) else value.get(part)
        if value is None:
            return None
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    if attr.kind == "modalities":
        return [m for m in str(value).split("\\") if m]
    return value


def identifier(row: Any, level: str, keywords: Iterable[str]) -> Dataset:
    """The answer for one match: each asked attribute with the index's value (empty when the
    index has none)."""
    attrs = LEVELS[level]
    answer = Dataset()
    answer.SpecificCharacterSet = "ISO_IR 192"
    for keyword in keywords:
        attr = attrs.get(keyword)
        value = _value(row, attr) if attr is not None else None
        try:
            setattr(answer, keyword, value if value is not None else "")
        except (TypeError, ValueError):
            continue
    return answer


@dataclass(frozen=True)
class PatientRow:
    patient_dicom_id: str
    patient_name: str
    patient_birth_date: dt.date | None
    patient_sex: str
    studies: int
    series: int
    instances: int


def patients(studies: QuerySet[ImagingStudy]) -> Iterator[PatientRow]:
    grouped = (
        studies.order_by()
        .values("patient_dicom_id")
        .annotate(
            name=Max("patient_name"),
            birth=Max("patient_birth_date"),
            sex=Max("patient_sex"),
            n_studies=Count("pk"),
            n_series=Sum("series_count"),
            n_instances=Sum("instance_count"),
        )
        .order_by("patient_dicom_id")
    )
    for row in grouped:
        yield PatientRow(
            row["patient_dicom_id"],
            row["name"] or "",
            row["birth"],
            row["sex"] or "",
            row["n_studies"],
            row["n_series"] or 0,
            row["n_instances"] or 0,
        )


_PATIENT_COUNTS: dict[str, Callable[[PatientRow], int]] = {
    "NumberOfPatientRelatedStudies": lambda row: row.studies,
    "NumberOfPatientRelatedSeries": lambda row: row.series,
    "NumberOfPatientRelatedInstances": lambda row: row.instances,
}


def level_queryset(studies: QuerySet[ImagingStudy], level: str) -> QuerySet[Any]:
    """The rows of ``level`` below an already scoped set of studies."""
    if level == "STUDY":
        return studies
    if level == "SERIES":
        return (
            ImagingSeries.objects.filter(study__in=studies)
            .mark_scoped()
            .select_related("study")
            .order_by("study_id", "series_number", "pk")
        )
    return (
        ImagingInstance.objects.filter(study__in=studies)
        .mark_scoped()
        .select_related("study", "series")
        .order_by("series_id", "instance_number", "pk")
    )


def find_identifiers(institution: Institution, level: str, query: Dataset) -> Iterator[Dataset]:
    """C-FIND over the institution's own studies: one identifier per match, carrying the
    keys the query asked for."""
    studies = ImagingStudy.objects.unscoped("C-FIND: the calling node's own institution").filter(
        institution=institution
    )
    criteria: dict[str, str] = {}
    keywords: list[str] = []
    for element in query:
        keyword = element.keyword
        if not keyword or keyword in ("QueryRetrieveLevel", "SpecificCharacterSet"):
            continue
        keywords.append(keyword)
        if element.VR != "SQ":
            value = element.value
            if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                criteria[keyword] = "\\".join(str(v) for v in value)
            else:
                criteria[keyword] = "" if value is None else str(value)
    if level == "PATIENT":
        matched = apply(
            studies, "STUDY", {k: v for k, v in criteria.items() if k in LEVELS["PATIENT"]}
        )
        for row in patients(matched):
            answer = identifier(row, "PATIENT", [k for k in keywords if k not in _PATIENT_COUNTS])
            for keyword, count in _PATIENT_COUNTS.items():
                if keyword in keywords:
                    setattr(answer, keyword, count(row))
            yield answer
        return
    rows = apply(level_queryset(studies, level), level, criteria)
    for row in rows.iterator(chunk_size=500):
        yield identifier(row, level, keywords)
