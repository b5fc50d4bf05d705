from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from telemed.storage.models import Blob


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ["sha256", "size", "content_type", "original_name", "created_at"]
    search_fields = ["sha256", "original_name"]
    readonly_fields = ["sha256", "size", "content_type", "original_name", "created_at"]

    # Rows are written by services.store only; deleting a row would orphan (or, if shared,
    # strand) content, so removal is left to a garbage collector that checks references.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
