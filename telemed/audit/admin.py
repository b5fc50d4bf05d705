"""The audit trail in the admin: read-only. Events are appended by ``audit.services.record``
only; the table refuses changes anyway, and the hash chain would expose them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from telemed.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "seq",
        "at",
        "actor",
        "role",
        "institution",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "outcome",
        "channel",
    ]
    list_filter = ["action", "outcome", "role", "channel", "object_type"]
    # Exact matches on the choices, so that searching "denied" finds the refusals.
    search_fields = [
        "actor",
        "institution",
        "object_type",
        "object_id",
        "=action",
        "=outcome",
        "=patient_id",
    ]
    date_hierarchy = "at"
    ordering = ["-seq"]
    actions = None
    # Counting the whole table on every page grows with the trail; the paginator's own
    # count is enough.
    show_full_result_count = False

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # patient_id is a number: a text term would not even convert, so leave it out.
        bits = request.GET.get("q", "").split()
        fields = list(self.search_fields)
        numeric = bool(bits) and all(bit.isdigit() for bit in bits)
        return fields if numeric else [f for f in fields if f != "=patient_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
