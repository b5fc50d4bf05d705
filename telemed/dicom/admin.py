from __future__ import annotations

from django.contrib import admin

from telemed.dicom.models import RemoteNode


@admin.register(RemoteNode)
class RemoteNodeAdmin(admin.ModelAdmin):
    """Which calling AE titles (and addresses) may send to the platform, for which
    institution. A caller not listed here, or disabled, is rejected at association."""

    list_display = [
        "ae_title",
        "host",
        "institution",
        "enabled",
        "registers_patients",
        "description",
    ]
    list_filter = ["enabled"]
    search_fields = ["ae_title", "host", "institution__name", "institution__code"]
    autocomplete_fields = ["institution"]
