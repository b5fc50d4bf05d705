"""Reads of the directory. Not patient data: any signed-in user may read it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from telemed.directory.models import ExpertProfile, Institution


def search_experts(
    text: str = "", *, department: str = "", disease: str = "", institution: str = ""
) -> QuerySet[ExpertProfile]:
    """Experts by name, by department (specialty code or department name) and by disease
    (ICD-10 code or name), as the portal and triage screens search them."""
    experts = ExpertProfile.objects.select_related(
        "practitioner__institution", "practitioner__department"
    ).filter(practitioner__active=True)
    if text := text.strip():
        experts = experts.filter(
            Q(practitioner__name__icontains=text) | Q(practitioner__name_en__icontains=text)
        )
    if department := department.strip():
        experts = experts.filter(
            Q(practitioner__department__specialty__code=department)
            | Q(practitioner__department__name__icontains=department)
            | Q(practitioner__department__name_en__icontains=department)
        )
    if disease := disease.strip():
        matching = ExpertProfile.objects.filter(
            Q(diseases__icd10__istartswith=disease)
            | Q(diseases__name__icontains=disease)
            | Q(diseases__name_en__icontains=disease)
        ).values("pk")
        experts = experts.filter(pk__in=matching)
    if institution := institution.strip():
        experts = experts.filter(practitioner__institution__code=institution)
    return experts.order_by("practitioner__institution__code", "practitioner__name")


def institutions(tier: str = "", parent: str = "", text: str = "") -> QuerySet[Institution]:
    found = Institution.objects.select_related("parent", "region").filter(active=True)
    if tier:
        found = found.filter(tier=tier)
    if parent:
        found = found.filter(parent__code=parent)
    if text := text.strip():
        found = found.filter(
            Q(name__icontains=text) | Q(name_en__icontains=text) | Q(code__iexact=text)
        )
    return found
