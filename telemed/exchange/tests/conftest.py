"""Fixtures of the exchange tests: county A's HIS mapped as a member system, the province's
operator, a dead letter and a queued code for the operator pages."""

from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def his(network):
    from telemed.exchange import services

    return services.create_member_system(
        "COUNTY_A",
        name="安阳县人民医院 HIS",
        sending_application="HIS",
        sending_facility="COUNTY_A",
    )


@pytest.fixture
def operator(network):
    from telemed.testing import make_user

    return make_user("ops", "administrator", network.province)


@pytest.fixture
def dead_letter(his, alice, network, settings):
    """A report whose subscriber never answered: one failed attempt, then the dead list."""
    from telemed.consultations.testing import advance, build_team, draft
    from telemed.exchange import outbound, services
    from telemed.exchange.models import DeliveryState, OutboundMessage, Transport

    settings.DELIVERY_MAX_ATTEMPTS = 1
    services.subscribe(his, Transport.REST_HOOK, "http://127.0.0.1:9/never")
    team = build_team(network, alice)
    advance(team, draft(team), "concluded")
    outbound.enqueue_missed()
    assert outbound.deliver_due()["failed"] == 1
    row = OutboundMessage.objects.unscoped("test").get()
    assert row.state == DeliveryState.DEAD
    return row


@pytest.fixture
def queued(network):
    from telemed.exchange import codes
    from telemed.exchange.models import CodeKind, UnmappedCode

    assert codes.translate(network.county_a, CodeKind.DIAGNOSIS, "GXY01", "高血压") is None
    assert codes.translate(network.county_a, CodeKind.DIAGNOSIS, "GXY01", "高血压") is None
    return UnmappedCode.objects.get(local_code="GXY01")
