"""The pages' forms: parse and check input, so bad input becomes a form error, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telemed.audit.models import Action, Outcome
from telemed.directory.models import Tier
from telemed.patients.models import Sex
from telemed.patients.services import NewPatient

_CONSENT_CHOICES = [("", _("Not asked")), ("yes", _("Granted")), ("no", _("Refused"))]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)


class RegisterPatientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    name_pinyin = forms.CharField(label=_("Name (pinyin)"), max_length=120, required=False)
    # No preselected sex: a default would be recorded whenever the doctor skips the field.
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", _("Choose…")), *Sex.choices])
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )
    record_number = forms.CharField(label=_("Record number at your institution"), max_length=40)
    resident_id = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
        help_text=_("18 characters: 17 digits and a digit or X."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    consent_telemedicine = forms.ChoiceField(
        label=_("Consent to telemedicine"), choices=_CONSENT_CHOICES, required=False
    )
    consent_share_external = forms.ChoiceField(
        label=_("Consent to sharing with outside experts"),
        choices=_CONSENT_CHOICES,
        required=False,
    )
    confirm_new = forms.BooleanField(
        label=_("This is a different person: create a new record"), required=False
    )

    def clean_birth_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["birth_date"]
        if value.year < 1880:
            raise forms.ValidationError(_("Enter a real date of birth."))
        return value

    def new_patient(self) -> NewPatient:
        data = self.cleaned_data

        def consent(field: str) -> bool | None:
            return {"yes": True, "no": False}.get(data[field])

        return NewPatient(
            name=data["name"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            record_number=data["record_number"],
            resident_id=data["resident_id"] or None,
            name_pinyin=data["name_pinyin"],
            phone=data["phone"],
            address=data["address"],
            consent_telemedicine=consent("consent_telemedicine"),
            consent_share_external=consent("consent_share_external"),
        )


class ExpertSearchForm(forms.Form):
    q = forms.CharField(label=_("Name"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    disease = forms.CharField(
        label=_("Disease (name or ICD-10 code)"), max_length=100, required=False
    )


class NetworkForm(forms.Form):
    tier = forms.ChoiceField(
        label=_("Tier"), choices=[("", _("All tiers")), *Tier.choices], required=False
    )
    q = forms.CharField(label=_("Name or code"), max_length=100, required=False)


class EventFilters(TypedDict):
    actor: str
    action: str
    outcome: str
    patient_id: int | None
    since: dt.datetime | None
    until: dt.datetime | None


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor (username)"), max_length=150, required=False)
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("Any action")), *Action.choices], required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", _("Any outcome")), *Outcome.choices], required=False
    )
    patient_id = forms.IntegerField(
        label=_("Patient ID"), min_value=1, max_value=2**63 - 1, required=False
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        # Far-off years overflow when shifted to UTC for the query; no event lies there.
        for name, day in (("since", since), ("until", until)):
            if isinstance(day, dt.date) and not 1900 <= day.year <= 2999:
                self.add_error(name, _("Enter a date between 1900 and 2999."))
        if isinstance(since, dt.date) and isinstance(until, dt.date) and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def filters(self) -> EventFilters:
        """The arguments of audit.queries.search_events; the date range counts whole days
        in the platform's time zone, "to" included."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return {
            "actor": data.get("actor", "").strip(),
            "action": data.get("action", ""),
            "outcome": data.get("outcome", ""),
            "patient_id": data.get("patient_id"),
            "since": _start_of(since) if since else None,
            "until": _start_of(until + dt.timedelta(days=1)) if until else None,
        }


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
