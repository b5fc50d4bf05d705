"""Administration of the network: regions, institutions, departments, people, experts,
rooms and expert resource pools. Lists here run to hundreds of rows, so relations are
picked with autocomplete rather than a full drop-down."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telemed.directory.models import (
    ConsultationRoom,
    Department,
    Disease,
    ExpertPool,
    ExpertProfile,
    Institution,
    Practitioner,
    Region,
    Specialty,
)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    readonly_fields = ["path"]


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ["code", "name", "name_en", "specialty"]
    autocomplete_fields = ["specialty"]
    show_change_link = True


class RoomInline(admin.TabularInline):
    model = ConsultationRoom
    extra = 0
    fields = ["code", "name", "name_en", "kind", "capacity", "active"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "tier", "parent", "region", "active", "joined_on"]
    list_filter = ["tier", "active"]
    search_fields = ["code", "name", "name_en"]
    autocomplete_fields = ["parent", "region"]
    list_select_related = ["parent", "region"]
    date_hierarchy = "joined_on"
    inlines = [DepartmentInline, RoomInline]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "disease_count"]
    search_fields = ["code", "name", "name_en"]
    # Explicit: the count annotation groups rows, and grouped rows lose the model ordering.
    ordering = ["code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Specialty]:
        return super().get_queryset(request).annotate(disease_total=Count("diseases"))

    @admin.display(description=_("diseases"), ordering="disease_total")
    def disease_count(self, obj: Specialty) -> int:
        return obj.disease_total  # type: ignore[attr-defined]


@admin.register(Disease)
class DiseaseAdmin(admin.ModelAdmin):
    list_display = ["icd10", "name", "name_en", "specialty"]
    list_filter = ["specialty"]
    search_fields = ["icd10", "name", "name_en"]
    autocomplete_fields = ["specialty"]
    list_select_related = ["specialty"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "institution", "specialty"]
    list_filter = ["specialty", "institution__tier"]
    search_fields = ["code", "name", "name_en", "institution__name", "institution__code"]
    autocomplete_fields = ["institution", "specialty"]
    list_select_related = ["institution", "specialty"]


class ExpertProfileInline(admin.StackedInline):
    model = ExpertProfile
    extra = 0
    autocomplete_fields = ["diseases"]


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "title", "institution", "department", "is_expert", "active"]
    list_filter = ["title", "active", "institution__tier", "specialties"]
    search_fields = ["name", "name_en", "institution__name", "institution__code"]
    autocomplete_fields = ["institution", "department", "specialties"]
    list_select_related = ["institution", "department", "expert_profile"]
    inlines = [ExpertProfileInline]

    @admin.display(description=_("expert"), boolean=True)
    def is_expert(self, obj: Practitioner) -> bool:
        return hasattr(obj, "expert_profile")


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "institution", "department", "accepting", "daily_capacity"]
    list_filter = ["accepting", "practitioner__institution__tier", "practitioner__specialties"]
    search_fields = [
        "practitioner__name",
        "practitioner__name_en",
        "practitioner__institution__name",
        "diseases__icd10",
        "diseases__name",
    ]
    autocomplete_fields = ["practitioner", "diseases"]
    list_select_related = ["practitioner__institution", "practitioner__department"]

    @admin.display(description=_("institution"), ordering="practitioner__institution__code")
    def institution(self, obj: ExpertProfile) -> Institution:
        return obj.practitioner.institution

    @admin.display(description=_("department"))
    def department(self, obj: ExpertProfile) -> Department | None:
        return obj.practitioner.department


@admin.register(ConsultationRoom)
class ConsultationRoomAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "institution", "kind", "capacity", "active"]
    list_filter = ["kind", "active", "institution__tier"]
    search_fields = ["code", "name", "name_en", "institution__name", "institution__code"]
    autocomplete_fields = ["institution"]
    list_select_related = ["institution"]


@admin.register(ExpertPool)
class ExpertPoolAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "service", "institution_count", "expert_count"]
    list_filter = ["service", "owner__tier"]
    search_fields = ["name", "name_en", "owner__name", "owner__code"]
    autocomplete_fields = ["owner", "member_institutions", "member_experts"]
    list_select_related = ["owner"]
    ordering = ["owner__code", "service"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExpertPool]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                institution_total=Count("member_institutions", distinct=True),
                expert_total=Count("member_experts", distinct=True),
            )
        )

    @admin.display(description=_("member institutions"), ordering="institution_total")
    def institution_count(self, obj: ExpertPool) -> int:
        return obj.institution_total  # type: ignore[attr-defined]

    @admin.display(description=_("member experts"), ordering="expert_total")
    def expert_count(self, obj: ExpertPool) -> int:
        return obj.expert_total  # type: ignore[attr-defined]
