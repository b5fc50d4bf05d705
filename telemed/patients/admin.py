"""The master patient index in the admin, through the same scope as every other screen.

Every queryset here is ``visible_to(request.user)``: a city administrator sees the city's
patients, not the province's. Opening and listing patients is audited like the API. Changes
go through ``services.update_patient`` (audited, demographics only); registering and merging
are workflows of their own, so the admin neither adds nor deletes. Django's admin log is not
written for patients: its entries carry the patient's name and are shown to every staff user.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.patients import services
from telemed.patients.models import Consent, Patient, PatientRegistration


def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RegistrationInline(ReadOnlyInline):
    model = PatientRegistration
    fields = readonly_fields = ("institution", "record_number", "registered_at", "registered_by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PatientRegistration]:
        return PatientRegistration.objects.visible_to(_user(request)).select_related(
            "institution", "registered_by"
        )


class ConsentInline(ReadOnlyInline):
    """Consents are a record of decisions, never edited: a new decision is a new row."""

    model = Consent
    fields = readonly_fields = (
        "kind",
        "granted",
        "recorded_at",
        "recorded_by",
        "institution",
        "note",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consent]:
        return Consent.objects.visible_to(_user(request)).select_related(
            "institution", "recorded_by"
        )


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "name_pinyin", "sex", "birth_date", "masked_resident_id", "created_at"]
    list_filter = ["sex"]
    search_fields = ["name", "name_pinyin", "=resident_id", "=registrations__record_number"]
    date_hierarchy = "created_at"
    fields = [
        "mpi_id",
        "name",
        "name_pinyin",
        "sex",
        "birth_date",
        "resident_id",
        "phone",
        "address",
        "duplicate_flag",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "mpi_id",
        "birth_date",
        "resident_id",
        "duplicate_flag",
        "created_at",
        "updated_at",
    ]
    inlines = [RegistrationInline, ConsentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patient]:
        return Patient.objects.visible_to(_user(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = _user(request)
        return (
            super().has_change_permission(request, obj)
            and user is not None
            and user.role in services.REGISTERING_ROLES
        )

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj: Patient) -> str:
        # The list shows enough to tell people apart; the full number is on the record.
        value = obj.resident_id or ""
        return f"{value[:6]}********{value[-4:]}" if len(value) == 18 else value

    @admin.display(description=_("possible duplicate of"))
    def duplicate_flag(self, obj: Patient) -> str:
        # Only the number: the other record may be outside this administrator's scope.
        if obj.possible_duplicate_of_id is None:
            return "-"
        return f"#{obj.possible_duplicate_of_id}"

    def save_model(
        self, request: HttpRequest, obj: Patient, form: ModelForm[Patient], change: bool
    ) -> None:
        user = _user(request)
        changes = {
            field: form.cleaned_data[field]
            for field in form.changed_data
            if field in services.UPDATABLE_FIELDS
        }
        if user is not None and changes:
            services.update_patient(user, obj, changes)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:  # type: ignore[override]
        """Recorded in the audit chain by ``update_patient`` instead."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit.record(
                _user(request),
                Action.SEARCH,
                object_type="patient",
                detail={"query": request.GET.get("q", "")[:100], "via": "admin"},
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and object_id.isdigit():
            audit.record(
                _user(request),
                Action.READ,
                object_type="patient",
                object_id=object_id,
                patient_id=int(object_id),
                detail={"via": "admin"},
            )
        return response
