"""A lint for the scoping choke point: views and API handlers never reach patient-data
models through their manager except via ``visible_to(user)``, and never call ``unscoped``."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps

from telemed.core.scoped import PatientDataQuerySet

ROOT = Path(__file__).resolve().parent.parent / "telemed"
HANDLER_FILES = [
    p for p in ROOT.rglob("*.py") if p.name in {"api.py", "views.py"} or p.parent.name == "views"
]


def patient_data_models() -> list[str]:
    return [
        model.__name__
        for model in apps.get_models()
        if isinstance(model._default_manager.get_queryset(), PatientDataQuerySet)
    ]


def test_patient_data_models_are_known():
    assert {"Patient", "PatientRegistration", "Consent", "PatientAccessGrant"} <= set(
        patient_data_models()
    )


def test_handlers_do_not_bypass_the_scope():
    names = "|".join(patient_data_models())
    direct = re.compile(
        rf"\b({names})\.(objects|_default_manager|_base_manager)\b(?!\.visible_to\()"
    )
    offences = []
    for path in HANDLER_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ".unscoped(" in line or direct.search(line):
                offences.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert not offences, "patient data read outside the scoping queries:\n" + "\n".join(offences)
