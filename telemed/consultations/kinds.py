"""The multidisciplinary consultation's policy: every step, and what QC looks at."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from telemed.consultations.policies import ChecklistItem, KindPolicy, register
from telemed.consultations.states import Kind

MULTIDISCIPLINARY = KindPolicy(
    kind=Kind.MULTIDISCIPLINARY,
    checklist=(
        ChecklistItem(
            "summary_complete", _("Clinical summary states history, findings and treatment so far")
        ),
        ChecklistItem("question_clear", _("The question for the expert is clear")),
        ChecklistItem("department_fits", _("The wanted department fits the question")),
        ChecklistItem(
            "records_attached", _("Needed records and results are attached"), required=False
        ),
        ChecklistItem("consent_recorded", _("Patient consent to telemedicine is recorded")),
    ),
    session_minutes=30,
)
register(MULTIDISCIPLINARY)
