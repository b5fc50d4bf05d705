"""Operator screens for the ECG pools: the duty rosters and the escalation routes. (The
recordings are patient data: they are read through the scoped pages, not here.)"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext

from telemed.directory.models import ExpertPool
from telemed.ecg import pools
from telemed.ecg.models import DutyShift, PoolEscalation


class DutyShiftForm(forms.ModelForm):
    class Meta:
        model = DutyShift
        fields = ["pool", "expert", "starts_at", "ends_at"]

    def clean(self) -> dict[str, Any]:
        # The same rules as pools.add_shift: an ECG pool, one of its members, a real span.
        data = super().clean() or {}
        pool, expert = data.get("pool"), data.get("expert")
        if pool is not None and pool.service != ExpertPool.Service.ECG:
            self.add_error("pool", gettext("not an ECG pool"))
        elif pool is not None and expert is not None and not pools.is_member(pool, expert):
            self.add_error("expert", gettext("not a member of the pool"))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("must be after the start"))
        return data


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    form = DutyShiftForm
    list_display = ("pool", "expert", "starts_at", "ends_at")
    list_filter = ("pool__service",)
    search_fields = ("expert__username", "expert__last_name", "pool__name", "pool__owner__code")
    autocomplete_fields = ("expert",)
    date_hierarchy = "starts_at"
    list_select_related = ("pool", "expert")


@admin.register(PoolEscalation)
class PoolEscalationAdmin(admin.ModelAdmin):
    list_display = ("pool", "escalate_to")
    list_select_related = ("pool", "escalate_to")
