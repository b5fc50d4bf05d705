"""The imaging pages' forms: attaching a received study to a case, and the report."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from telemed.imaging.report import ImagingReport

TEXTAREA = {"rows": 4}
_CODE_SEPARATORS = re.compile(r"[\s,;，；、]+")


class AttachForm(forms.Form):
    study = forms.IntegerField(label=_("Study"), min_value=1)


class ImagingRequestForm(forms.Form):
    """What is to be read, as DICOM codes (the service checks their form)."""

    modality = forms.CharField(
        label=_("Requested modality"), max_length=16, required=False, help_text=_("e.g. CT, MR, DX")
    )
    body_part = forms.CharField(
        label=_("Requested body part"),
        max_length=16,
        required=False,
        help_text=_("e.g. CHEST, HEAD, ABDOMEN"),
    )


class ReportForm(forms.Form):
    """Every field is optional here: the signing step says what is missing, so that the
    same rules hold for the page and the API."""

    technique = forms.CharField(
        label=_("Technique"), max_length=5000, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )
    findings = forms.CharField(
        label=_("Findings"), max_length=20000, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )
    impression = forms.CharField(
        label=_("Impression"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
    )
    icd10_codes = forms.CharField(
        label=_("ICD-10 codes"),
        max_length=400,
        required=False,
        help_text=_("Separated by commas, e.g. J18.9, C34.1"),
    )
    recommendations = forms.CharField(
        label=_("Recommendations"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def report(self) -> ImagingReport:
        data = self.cleaned_data
        codes = tuple(code for code in _CODE_SEPARATORS.split(data["icd10_codes"]) if code)
        return ImagingReport(
            technique=data["technique"],
            findings=data["findings"],
            impression=data["impression"],
            icd10_codes=codes[:20],
            recommendations=data["recommendations"],
        )


class AmendReportForm(ReportForm):
    amendment_reason = forms.CharField(
        label=_("Reason for amendment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
