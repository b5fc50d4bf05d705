"""The operator screens: the message log and the outbox in scope, the retry action."""

from __future__ import annotations

import pytest

from telemed.exchange import inbound, outbound, services
from telemed.exchange.models import DeliveryState, OutboundMessage, Transport
from telemed.exchange.testing import adt
from telemed.testing import make_user, sign_in


@pytest.fixture
def operator(network):
    return make_user("ops", "administrator", network.province, is_staff=True, is_superuser=True)


def test_the_message_log_lists_what_was_received(client, his, operator):
    inbound.receive(adt("A01", "ADM1", "MR-ADM1").encode())
    sign_in(client, operator)
    page = client.get("/admin/exchange/inboundmessage/")
    assert page.status_code == 200
    assert "ADM1" in page.content.decode()
    log = page.context["cl"].result_list[0]
    assert client.get(f"/admin/exchange/inboundmessage/{log.pk}/change/").status_code == 200
    from telemed.audit.models import AuditEvent

    reads = AuditEvent.objects.filter(object_type="hl7_message", actor="ops")
    assert set(reads.values_list("action", flat=True)) == {"search", "read"}
    assert reads.get(action="read").patient_id == log.patient_id


def test_another_citys_administrator_sees_none_of_it(client, his, network):
    inbound.receive(adt("A01", "ADM2", "MR-ADM2").encode())
    outsider = make_user("ops_b", "administrator", network.city_b, is_staff=True, is_superuser=True)
    sign_in(client, outsider)
    page = client.get("/admin/exchange/inboundmessage/")
    assert page.status_code == 200
    assert "ADM2" not in page.content.decode()


def test_dead_letters_are_retried_from_the_outbox_screen(client, his, operator, alice, network):
    from telemed.consultations.testing import advance, build_team, draft

    services.subscribe(his, Transport.REST_HOOK, "http://127.0.0.1:9/never")
    team = build_team(network, alice)
    advance(team, draft(team), "concluded")
    outbound.enqueue_missed()
    row = OutboundMessage.objects.unscoped("test").get()
    OutboundMessage.objects.filter(pk=row.pk).update(state=DeliveryState.DEAD, attempts=10)
    sign_in(client, operator)
    assert client.get("/admin/exchange/outboundmessage/").status_code == 200
    response = client.post(
        "/admin/exchange/outboundmessage/",
        {"action": "retry", "_selected_action": [row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)
    assert client.get(f"/admin/exchange/outboundmessage/{row.pk}/change/").status_code == 200


def test_member_systems_are_added_with_their_own_system_user(client, operator, network):
    sign_in(client, operator)
    response = client.post(
        "/admin/exchange/membersystem/add/",
        {
            "name": "舞阳县 HIS",
            "institution": network.county_b.pk,
            "sending_application": "WYHIS",
            "sending_facility": "WUYANG",
            "active": "on",
        },
    )
    assert response.status_code == 302
    from telemed.exchange.models import MemberSystem

    system = MemberSystem.objects.get()
    assert system.service_user.role == "system"
    assert system.service_user.institution == network.county_b


def test_the_demo_maps_the_demo_county_his_once(db):
    from telemed.directory.models import Institution, Tier
    from telemed.exchange import demo
    from telemed.exchange.models import MemberSystem

    Institution.objects.create(code="DEMO_COUNTY", name="示范县人民医院", tier=Tier.COUNTY_HOSPITAL)
    assert demo.load() == {"member_systems": 1}
    assert demo.load() == {"member_systems": 1}
    system = MemberSystem.objects.get()
    assert (system.sending_application, system.sending_facility) == ("DEMO_HIS", "DEMO_COUNTY")


def test_an_operator_maps_a_queued_code_from_the_queue(client, his, operator):
    from telemed.exchange import codes
    from telemed.exchange.models import CodeMapping, UnmappedCode

    codes.translate(his.institution, "test", "HB", "血红蛋白", seen_in="ORM^O01 X")
    sign_in(client, operator)
    queue = client.get("/admin/exchange/unmappedcode/")
    assert queue.status_code == 200
    assert "/admin/exchange/codemapping/add/?" in queue.content.decode()
    add = (
        f"/admin/exchange/codemapping/add/?institution={his.institution.pk}&kind=test&local_code=HB"
    )
    assert client.get(add).status_code == 200
    response = client.post(
        "/admin/exchange/codemapping/add/",
        {
            "institution": his.institution.pk,
            "kind": "test",
            "local_code": "HB",
            "local_name": "血红蛋白",
            "standard_code": "718-7",
            "standard_name": "Hemoglobin",
            "factor": "1",
            "offset": "0",
        },
    )
    assert response.status_code == 302
    assert CodeMapping.objects.get().standard_code == "718-7"
    assert UnmappedCode.objects.get().resolved_at is not None


def test_a_bad_mapping_or_endpoint_is_a_form_error(client, his, operator):
    sign_in(client, operator)
    mapping = client.post(
        "/admin/exchange/codemapping/add/",
        {
            "institution": his.institution.pk,
            "kind": "test",
            "local_code": "HB",
            "standard_code": "not-loinc",
            "factor": "1",
            "offset": "0",
        },
    )
    assert mapping.status_code == 200
    assert "standard_code" in mapping.context["adminform"].form.errors
    subscription = client.post(
        "/admin/exchange/subscription/add/",
        {"member_system": his.pk, "transport": "rest-hook", "endpoint": "ftp://x", "active": "on"},
    )
    assert subscription.status_code == 200
    assert "endpoint" in subscription.context["adminform"].form.errors
