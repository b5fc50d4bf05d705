"""Administration of sign-in accounts and (read-only) hospital-system API clients."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import ForeignKey
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import ApiClient, User
from telemed.patients.models import Patient

TELEMED_FIELDS = ("role", "institution", "practitioner", "supervised_region", "patient")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "last_name",
        "first_name",
        "role",
        "institution",
        "is_active",
        "is_staff",
        "locked_until",
    ]
    list_filter = ["role", "is_active", "is_staff", "is_superuser", "institution__tier"]
    search_fields = [
        "username",
        "first_name",
        "last_name",
        "email",
        "institution__code",
        "institution__name",
    ]
    list_select_related = ["institution"]
    autocomplete_fields = ["institution", "practitioner", "supervised_region", "patient"]
    # Lockout state is kept by the sign-in service; an administrator reads it here.
    readonly_fields = ["failed_logins", "locked_until", "last_login", "date_joined"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Telemedicine"), {"fields": TELEMED_FIELDS}),
        (_("Sign-in lockout"), {"fields": ("failed_logins", "locked_until")}),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (_("Telemedicine"), {"fields": ("role", "institution", "supervised_region")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self._patient_in_scope(request, obj):
            return fieldsets
        # A linked patient the administrator may not see is shown by number only and kept
        # as it is: an editable field would drop it on save (it is not among the choices).
        return [
            (
                title,
                {
                    **opts,
                    "fields": [("patient_record" if f == "patient" else f) for f in opts["fields"]],
                },
            )
            for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self._patient_in_scope(request, obj):
            fields.append("patient_record")
        return fields

    @staticmethod
    def _patient_in_scope(request: HttpRequest, obj: User) -> bool:
        return (
            obj.patient_id is None
            or Patient.objects.visible_to(request.user).filter(pk=obj.patient_id).exists()  # type: ignore[arg-type]
        )

    @admin.display(description=_("patient record"))
    def patient_record(self, obj: User) -> str:
        return _("#%(id)s (outside your scope)") % {"id": obj.patient_id}

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        # The linked patient record is patient data: offer and accept only patients the
        # administrator may see, never the whole index.
        if db_field.name == "patient":
            kwargs["queryset"] = Patient.objects.visible_to(request.user)  # type: ignore[arg-type]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Clients are created with ``telemed client create`` (which hands out the secret once);
    the screen only shows them."""

    list_display = ["application", "institution", "service_user", "description", "created_at"]
    list_filter = ["institution__tier"]
    search_fields = ["application__name", "institution__code", "institution__name"]
    list_select_related = ["application", "institution", "service_user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
