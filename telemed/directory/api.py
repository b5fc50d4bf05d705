from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from telemed.directory import queries
from telemed.directory.models import Institution

router = Router(tags=["directory"])


class InstitutionOut(Schema):
    code: str
    name: str
    name_en: str
    tier: str
    parent: str | None
    region: str | None


class DepartmentOut(Schema):
    code: str
    name: str
    name_en: str
    specialty: str | None


class ExpertOut(Schema):
    id: int
    name: str
    title: str
    institution: str
    institution_name: str
    department: str | None
    diseases: list[str]
    accepting: bool


class InstitutionFilter(Schema):
    tier: str = Field(default="", max_length=10)
    parent: str = Field(default="", max_length=32)
    q: str = Field(default="", max_length=100)
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ExpertFilter(Schema):
    q: str = Field(default="", max_length=100)
    department: str = Field(default="", max_length=100)
    disease: str = Field(default="", max_length=100)
    institution: str = Field(default="", max_length=32)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


def _institution(i: Institution) -> dict[str, object]:
    return {
        "code": i.code,
        "name": i.name,
        "name_en": i.name_en,
        "tier": i.tier,
        "parent": i.parent.code if i.parent else None,
        "region": i.region.code if i.region else None,
    }


@router.get("/institutions", response=list[InstitutionOut], summary="Institutions of the network")
def list_institutions(
    request: HttpRequest, params: Query[InstitutionFilter]
) -> list[dict[str, object]]:
    found = queries.institutions(params.tier, params.parent, params.q)[
        params.offset : params.offset + params.limit
    ]
    return [_institution(i) for i in found]


@router.get("/institutions/{code}", response=InstitutionOut)
def get_institution(request: HttpRequest, code: str) -> dict[str, object]:
    return _institution(
        get_object_or_404(Institution.objects.select_related("parent", "region"), code=code)
    )


@router.get("/institutions/{code}/departments", response=list[DepartmentOut])
def list_departments(request: HttpRequest, code: str) -> list[dict[str, object]]:
    institution = get_object_or_404(Institution, code=code)
    return [
        {
            "code": d.code,
            "name": d.name,
            "name_en": d.name_en,
            "specialty": d.specialty.code if d.specialty else None,
        }
        for d in institution.departments.select_related("specialty")
    ]


@router.get(
    "/experts", response=list[ExpertOut], summary="Search experts by name, department and disease"
)
def list_experts(request: HttpRequest, params: Query[ExpertFilter]) -> list[dict[str, object]]:
    experts = queries.search_experts(
        params.q,
        department=params.department,
        disease=params.disease,
        institution=params.institution,
    ).prefetch_related("diseases")
    return [
        {
            "id": e.pk,
            "name": e.practitioner.name,
            "title": e.practitioner.title,
            "institution": e.practitioner.institution.code,
            "institution_name": e.practitioner.institution.name,
            "department": e.practitioner.department.name if e.practitioner.department else None,
            "diseases": [d.icd10 for d in e.diseases.all()],
            "accepting": e.accepting,
        }
        for e in experts[params.offset : params.offset + params.limit]
    ]
