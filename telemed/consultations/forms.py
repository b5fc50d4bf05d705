"""The consultation pages' forms: parse and check input, so that bad input becomes a form
error (never a 500); the services decide everything else."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import User
from telemed.consultations import pages, services, signing
from telemed.consultations.policies import KindPolicy, requestable_kinds
from telemed.consultations.states import Kind, State, Urgency
from telemed.core import clock
from telemed.directory.models import ConsultationRoom, Tier

TEXTAREA = {"rows": 4}


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def parse_day(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2999 else None


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def slot_value(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="minutes")


def _parse_slot(value: str) -> dt.datetime | None:
    moment = parse_datetime(value) if value else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class RequestForm(forms.Form):
    """A consultation request, as a draft (anything may be empty) or to submit (the service
    says what is missing). The named expert and wanted time lists follow the chosen
    department, the expert search and the day (the page reloads them with htmx)."""

    kind = forms.ChoiceField(label=_("Kind"))
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    clinical_summary = forms.CharField(
        label=_("Clinical summary"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={**TEXTAREA, "rows": 6}),
        help_text=_("History, findings and treatment so far."),
    )
    question = forms.CharField(
        label=_("Question for the expert"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs=TEXTAREA),
    )
    wanted_specialty = forms.ChoiceField(label=_("Wanted department"), required=False)
    expert_search = forms.CharField(
        label=_("Search experts"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Name, department or disease."),
    )
    wanted_expert = forms.TypedChoiceField(
        label=_("Named expert (optional)"), required=False, coerce=int, empty_value=None
    )
    wanted_day = forms.DateField(
        label=_("Day"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    wanted_start = forms.TypedChoiceField(
        label=_("Wanted time"), required=False, coerce=_parse_slot, empty_value=None
    )
    disease = forms.CharField(
        label=_("Suspected disease (ICD-10)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"list": "disease-options", "autocomplete": "off"}),
    )
    consent_confirmed = forms.BooleanField(
        label=_("The patient consents to telemedicine (recorded with the request)"),
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        source: Mapping[str, Any] | None = None,
        requester: User | None = None,
        saved_start: dt.datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        values: Mapping[str, Any] = self.data if self.is_bound else (source or self.initial)
        _choices(self, "kind").choices = [(k, Kind(k).label) for k in requestable_kinds()]
        _choices(self, "wanted_specialty").choices = [("", _("Choose…"))] + [
            (s.code, s.display_name) for s in pages.specialties()
        ]
        chosen = _int_or_none(values.get("wanted_expert"))
        self.expert_options = pages.experts(
            text=str(values.get("expert_search") or "")[:100],
            specialty=str(values.get("wanted_specialty") or ""),
            include=chosen,
            accepting_only=True,
            exclude_institution=requester.institution_id if requester else None,
        )
        _choices(self, "wanted_expert").choices = [("", _("Any expert (the centre triages)"))] + [
            (option.id, option.label) for option in self.expert_options
        ]
        self.chosen_expert = (
            pages.expert(chosen) if any(o.id == chosen for o in self.expert_options) else None
        )
        slots: list[dt.datetime] = []
        day = parse_day(values.get("wanted_day"))
        if self.chosen_expert is not None:
            if day is None:
                day = (
                    timezone.localtime(saved_start).date()
                    if saved_start
                    else pages.next_free_day(self.chosen_expert)
                )
                if not self.is_bound:
                    self.initial["wanted_day"] = day
            slots = pages.free_slots(self.chosen_expert, day)
        self.free_slots = slots
        self.picked_day = day
        choices = [(slot_value(slot), f"{slot:%H:%M}") for slot in slots]
        if saved_start is not None and all(v != slot_value(saved_start) for v, _l in choices):
            # The time asked for before (editing a returned request) stays selectable.
            label = f"{timezone.localtime(saved_start):%Y-%m-%d %H:%M}"
            choices.insert(0, (slot_value(saved_start), label))
        _choices(self, "wanted_start").choices = [("", _("No particular time")), *choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("wanted_start") and not data.get("wanted_expert"):
            self.add_error("wanted_start", _("Choose the expert first."))
        return data

    def to_request(self) -> services.Request:
        data = self.cleaned_data
        return services.Request(
            kind=data["kind"],
            clinical_summary=data["clinical_summary"],
            question=data["question"],
            urgency=data["urgency"],
            wanted_specialty=data["wanted_specialty"],
            wanted_expert_id=data["wanted_expert"],
            wanted_start=data["wanted_start"],
            disease=data["disease"].strip(),
            consent_confirmed=data["consent_confirmed"],
        )

    @staticmethod
    def initial_from(consultation: Any) -> dict[str, Any]:
        c = consultation
        return {
            "kind": c.kind,
            "urgency": c.urgency,
            "clinical_summary": c.clinical_summary,
            "question": c.question,
            "wanted_specialty": c.wanted_specialty.code if c.wanted_specialty else "",
            "wanted_expert": c.wanted_expert_id or "",
            "wanted_day": timezone.localtime(c.wanted_start).date().isoformat()
            if c.wanted_start
            else "",
            "wanted_start": slot_value(c.wanted_start) if c.wanted_start else "",
            "disease": c.disease.icd10 if c.disease else "",
            "consent_confirmed": c.consent_confirmed,
        }


# Service field names that differ from the form's.
REQUEST_FIELDS = {"wanted_expert_id": "wanted_expert"}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QualityCheckForm(forms.Form):
    """The kind's checklist, one box an item, and the reasons for a return."""

    reasons = forms.CharField(
        label=_("Reasons for returning the request"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to return: what the requester must complete or correct."),
    )

    def __init__(self, *args: Any, policy: KindPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        for item in policy.checklist:
            box = forms.BooleanField(label=str(item.label), required=False)
            box.checklist_required = item.required  # type: ignore[attr-defined]
            self.fields[f"check_{item.code}"] = box

    def checklist(self) -> dict[str, bool]:
        return {
            item.code: bool(self.cleaned_data.get(f"check_{item.code}"))
            for item in self.policy.checklist
        }

    def checklist_fields(self) -> list[forms.BoundField]:
        return [self[f"check_{item.code}"] for item in self.policy.checklist]

    def place_missing(self, codes: object) -> bool:
        """Mark the unticked required items the service named; True when any was placed."""
        placed = False
        if isinstance(codes, list):
            for code in codes:
                name = f"check_{code}"
                if name in self.fields:
                    self.add_error(name, _("Tick this check to accept the request."))
                    placed = True
        return placed


class TriageForm(forms.Form):
    expert = forms.IntegerField(label=_("Expert"), min_value=1, max_value=2**63 - 1)
    # What the page offered when the manager opened it: a case another manager assigned in
    # the meantime must answer 409, not be reassigned.
    reassign = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Note (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expert"].error_messages["required"] = _("Choose an expert.")


class ExpertFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search experts"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Name, department or disease."),
    )
    tier = forms.ChoiceField(
        label=_("Where"),
        required=False,
        choices=[
            ("", _("Province, cities and partners")),
            (Tier.PROVINCE_CENTRE, Tier.PROVINCE_CENTRE.label),
            (Tier.CITY_SUBCENTRE, Tier.CITY_SUBCENTRE.label),
            (Tier.EXTERNAL_PARTNER, Tier.EXTERNAL_PARTNER.label),
        ],
    )


class ScheduleForm(forms.Form):
    day = forms.DateField(
        label=_("Date"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    time = forms.TimeField(
        label=_("Start time"), widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    minutes = forms.IntegerField(label=_("Length (minutes)"), min_value=10, max_value=480)
    room = forms.TypedChoiceField(label=_("Room"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, rooms: list[ConsultationRoom], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "room").choices = [("", _("No room (video only)"))] + [
            (room.pk, f"{room.display_name} ({room.get_kind_display()})") for room in rooms
        ]

    def clean_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["day"]
        if not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Enter a date between 2000 and 2999."))
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, time = data.get("day"), data.get("time")
        if isinstance(day, dt.date) and isinstance(time, dt.time):
            start = timezone.make_aware(dt.datetime.combine(day, time))
            if start < clock.now() - dt.timedelta(minutes=5):
                self.add_error("time", _("The start is in the past."))
            data["start"] = start
            if isinstance(data.get("minutes"), int):
                data["end"] = start + dt.timedelta(minutes=data["minutes"])
        return data


# The service's field names on the schedule form's.
SCHEDULE_FIELDS = {"end": "minutes", "room_id": "room"}

_CODE_SEPARATORS = re.compile(r"[\s,，;；、]+")


class ConclusionForm(forms.Form):
    findings = forms.CharField(
        label=_("Findings"), max_length=20000, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )
    diagnosis = forms.CharField(
        label=_("Diagnosis"), max_length=5000, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )
    icd10_codes = forms.CharField(
        label=_("ICD-10 codes"),
        max_length=400,
        required=False,
        help_text=_("Separated by commas, e.g. I20.0, I25.1"),
    )
    recommendations = forms.CharField(
        label=_("Recommendations"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
    )

    def draft(self) -> signing.ConclusionDraft:
        data = self.cleaned_data
        codes = tuple(code for code in _CODE_SEPARATORS.split(data["icd10_codes"]) if code)
        return signing.ConclusionDraft(
            data["findings"],
            data["diagnosis"],
            codes[:20],
            data["recommendations"],
            data.get("amendment_reason", ""),
        )


class AmendmentForm(ConclusionForm):
    amendment_reason = forms.CharField(
        label=_("Reason for amendment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[("", _("Choose…"))] + [(n, str(n)) for n in range(5, 0, -1)],
        help_text=_("5 = very helpful, 1 = not helpful."),
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    follow_up = forms.CharField(
        label=_("Follow-up"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What happened to the patient after the consultation."),
    )


class ListFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *State.choices]
    )
    q = forms.CharField(
        label=_("Number or patient"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
