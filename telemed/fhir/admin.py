from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from telemed.fhir.models import ClientScopes


@admin.register(ClientScopes)
class ClientScopesAdmin(admin.ModelAdmin):
    """Shown, not edited: ``telemed fhir_scopes`` checks the grammar and audits the grant."""

    list_display = ("application", "scopes", "updated_at")
    readonly_fields = ("application", "scopes", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
