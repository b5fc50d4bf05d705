"""Demo data for remote pathology: one pathology case from DEMO_COUNTY's ``doctor`` with two
synthetic slides (an Aperio-style SVS with a label and a macro, and a generic tiled TIFF), so
that the viewer has something to show after ``telemed demo``.

Safe to run again: the case is made only while DEMO_COUNTY has no pathology case. Every
slide is generated (tissue-like noise), no patient's image.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from telemed.accounts.models import User
from telemed.consultations import services as consultation_services
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind
from telemed.directory.models import Institution
from telemed.pathology import testing
from telemed.patients import queries as patient_queries

DEMO_COUNTY = "DEMO_COUNTY"


def load() -> dict[str, int]:
    county = Institution.objects.filter(code=DEMO_COUNTY).first()
    doctor = User.objects.filter(username="doctor", institution=county).first()
    if county is None or doctor is None:
        return {}
    existing = (
        Consultation.objects.unscoped("demo: is the pathology case there")
        .filter(kind=Kind.PATHOLOGY, requesting_institution=county)
        .exists()
    )
    if existing:
        return {"pathology_cases": 0}
    patient = patient_queries.visible_patients(doctor).order_by("pk").first()
    if patient is None:
        return {}
    case = consultation_services.create_draft(
        doctor,
        patient.pk,
        consultation_services.Request(
            kind=Kind.PATHOLOGY,
            clinical_summary="左乳外上象限肿物 2 cm，空芯针穿刺活检，HE 染色。",
            question="良恶性？如为恶性，组织学类型及分级。",
            consent_confirmed=True,
        ),
    )
    with tempfile.TemporaryDirectory() as folder:
        testing.upload(doctor, case, testing.aperio_svs(Path(folder) / "demo-breast.svs"))
        testing.upload(
            doctor, case, testing.generic_tiff(Path(folder) / "demo-breast-2.tif", seed=11)
        )
    return {"pathology_cases": 1, "pathology_slides": 2}
