"""Demo data of the DICOM node: the demo county hospital's PACS as a known caller, so that
``storescu -aet DEMO_COUNTY -aec TELEMED 127.0.0.1 11112 FILE`` works after ``make run``,
and its ECG cart (``DEMO_CART``), which registers the patients it names."""

from __future__ import annotations

from telemed.dicom.models import RemoteNode
from telemed.directory.models import Institution

# calling AE title -> (institution code, what it is, whether it registers patients)
DEMO_CALLERS = {
    "DEMO_COUNTY": ("DEMO_COUNTY", "demo county PACS", False),
    "DEMO_CART": ("DEMO_COUNTY", "demo ECG cart", True),
}


def load() -> dict[str, int]:
    for ae_title, (code, description, registers) in DEMO_CALLERS.items():
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            continue
        RemoteNode.objects.get_or_create(
            ae_title=ae_title,
            host=None,
            defaults={
                "institution": institution,
                "description": description,
                "registers_patients": registers,
            },
        )
    return {"dicom_nodes": RemoteNode.objects.count()}
