"""Demo data of the exchange hub: DEMO_COUNTY's HIS mapped as a member system
(``DEMO_HIS`` / ``DEMO_COUNTY`` in MSH-3/MSH-4), taking orders as drafts, so that an HL7
client pointed at the demo's MLLP port registers patients and requests consultations."""

from __future__ import annotations

from telemed.demo.accounts import DEMO_COUNTY
from telemed.directory.models import Institution
from telemed.exchange import services
from telemed.exchange.models import MemberSystem

APPLICATION = "DEMO_HIS"
FACILITY = "DEMO_COUNTY"


def load() -> dict[str, int]:
    """Map the demo county's HIS once (safe to run again)."""
    if not Institution.objects.filter(code=DEMO_COUNTY).exists():
        return {"member_systems": MemberSystem.objects.count()}
    if not MemberSystem.objects.filter(
        sending_application=APPLICATION, sending_facility=FACILITY
    ).exists():
        services.create_member_system(
            DEMO_COUNTY,
            name="示范县人民医院 HIS",
            sending_application=APPLICATION,
            sending_facility=FACILITY,
            accepts_orders=True,
        )
    return {"member_systems": MemberSystem.objects.count()}
