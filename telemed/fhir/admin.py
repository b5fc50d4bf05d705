from django.contrib import admin

from telemed.fhir.models import ClientScopes


@admin.register(ClientScopes)
class ClientScopesAdmin(admin.ModelAdmin):
    list_display = ("application", "scopes", "updated_at")
    readonly_fields = ("updated_at",)
