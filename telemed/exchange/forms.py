"""Forms of the operator pages: which deliveries to list, and what a queued code means."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telemed.exchange.models import DeliveryState


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), *DeliveryState.choices],
    )


class MapCodeForm(forms.Form):
    """The standard code an operator gives a queued local code (units with their
    conversion: standard = local * factor + offset)."""

    standard_code = forms.CharField(label=_("Standard code"), max_length=40)
    standard_name = forms.CharField(label=_("Standard name"), max_length=200, required=False)
    factor = forms.FloatField(label=_("Conversion factor"), initial=1.0, required=False)
    offset = forms.FloatField(label=_("Conversion offset"), initial=0.0, required=False)

    def numbers(self) -> tuple[float, float]:
        factor = self.cleaned_data.get("factor")
        offset = self.cleaned_data.get("offset")
        return (1.0 if factor is None else factor, 0.0 if offset is None else offset)
