"""Signed conclusions delivered to subscribers: a FHIR rest-hook and ORU^R01 over MLLP,
with the receiver down for a while, a runner dying mid-delivery, and dead letters."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from telemed.consultations import services as consultations
from telemed.consultations import signing
from telemed.consultations.testing import CONCLUSION, advance, build_team, draft
from telemed.core import clock
from telemed.exchange import hl7v2, outbound, services
from telemed.exchange.models import DeliveryState, OutboundMessage, Transport
from telemed.exchange.testing import mllp_receiver, rest_hook_receiver
from telemed.testing import make_user


@pytest.fixture
def receivers():
    rest, mllp = rest_hook_receiver(), mllp_receiver()
    yield rest, mllp
    rest.stop()
    mllp.stop()


@pytest.fixture
def subscribed(his, receivers):
    rest, mllp = receivers
    services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{rest.port}/hook")
    services.subscribe(his, Transport.MLLP, f"127.0.0.1:{mllp.port}", receiving_application="HIS")
    return rest, mllp


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


def outbox() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.unscoped("test").order_by("pk"))


def later(minutes: float) -> dt.datetime:
    return clock.now() + dt.timedelta(minutes=minutes)


def test_a_signed_conclusion_reaches_both_receivers(
    subscribed, team, django_capture_on_commit_callbacks
):
    rest, mllp = subscribed
    with django_capture_on_commit_callbacks(execute=True):
        case = advance(team, draft(team), "concluded")
    rows = outbox()
    assert len(rows) == 2
    assert outbound.deliver_due() == {"enqueued": 0, "delivered": 2, "failed": 0}
    by_transport = {row.subscription.transport: row for row in rows}
    [(key, body)] = rest.received.deliveries
    assert key == str(by_transport[Transport.REST_HOOK].idempotency_key)
    report = DiagnosticReport.model_validate(json.loads(body))
    assert report.status == "final"
    assert "I20.0" in body.decode()
    assert report.subject is not None
    [(control_id, oru)] = mllp.received.deliveries
    assert control_id == str(by_transport[Transport.MLLP].idempotency_key)
    message = hl7v2.parse(oru.decode())
    assert hl7v2.value(message, "MSH.F9") == "ORU"
    assert hl7v2.value(message, "PID.F3.R1.C1") == "A-0001"  # alice's record number
    assert hl7v2.value(message, "OBR.F2") == case.number
    assert hl7v2.value(message, "OBR.F25") == "F"
    assert "I20.0" in oru.decode() and "不稳定型心绞痛" in oru.decode()

    amendment = signing.ConclusionDraft(
        findings="窦性心律。",
        diagnosis="稳定型心绞痛",
        icd10_codes=("I20.8",),
        recommendations="门诊随访。",
        amendment_reason="复核心电图后修正",
    )
    with django_capture_on_commit_callbacks(execute=True):
        consultations.amend(team.expert, case.pk, amendment)
    assert outbound.deliver_due()["delivered"] == 2
    amended = DiagnosticReport.model_validate(json.loads(rest.received.deliveries[-1][1]))
    assert amended.status == "amended"
    assert hl7v2.value(hl7v2.parse(mllp.received.deliveries[-1][1].decode()), "OBR.F25") == "C"
    assert all(row.state == DeliveryState.DELIVERED for row in outbox())
    assert all(row.log.get().succeeded for row in outbox())


def test_a_receiver_down_for_an_hour_loses_nothing(
    subscribed, team, django_capture_on_commit_callbacks
):
    rest, mllp = subscribed
    rest.received.up = False
    mllp.stop()  # connection refused
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
    assert outbound.deliver_due()["failed"] == 2
    assert outbound.deliver_due()["failed"] == 0  # not due yet: backing off
    moment = clock.now()
    for minutes in (1, 3, 7, 15, 31, 60):
        with clock.frozen_at(moment + dt.timedelta(minutes=minutes)):
            outbound.deliver_due()
    assert rest.received.deliveries == []
    rest.received.up = True
    restarted = mllp_receiver()
    for row in outbox():
        if row.subscription.transport == Transport.MLLP:
            row.subscription.endpoint = f"127.0.0.1:{restarted.port}"
            row.subscription.save()
    try:
        with clock.frozen_at(moment + dt.timedelta(hours=3)):
            assert outbound.deliver_due()["delivered"] == 2
        assert len(rest.received.unique) == 1
        assert len(restarted.received.unique) == 1
    finally:
        restarted.stop()
    for row in outbox():
        log = list(row.log.all())
        assert log[-1].succeeded and not any(entry.succeeded for entry in log[:-1])
        assert [entry.number for entry in log] == list(range(1, len(log) + 1))


def test_back_off_doubles_up_to_the_cap(settings):
    settings.DELIVERY_RETRY_SECONDS = 30
    settings.DELIVERY_RETRY_CAP_SECONDS = 3600
    waits = [outbound.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_dead_letters_and_the_retry(subscribed, team, settings, django_capture_on_commit_callbacks):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    rest, mllp = subscribed
    rest.received.up = mllp.received.up = False
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
    outbound.deliver_due()
    with clock.frozen_at(later(60)):
        outbound.deliver_due()
    assert [row.state for row in outbox()] == [DeliveryState.DEAD] * 2
    with clock.frozen_at(later(600)):
        assert outbound.deliver_due()["failed"] == 0  # dead letters are not retried alone
    rest.received.up = mllp.received.up = True
    operator = make_user("ops", "administrator", team.manager.institution)
    assert services.retry_deliveries(operator, [row.pk for row in outbox()]) == 2
    assert outbound.deliver_due()["delivered"] == 2
    assert [row.log.count() for row in outbox()] == [3, 3]


def test_a_runner_dying_mid_delivery_doubles_nothing_at_the_receiver(
    subscribed, team, django_capture_on_commit_callbacks
):
    rest, mllp = subscribed
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
    # Runner A leases both rows and sends them, then dies before recording anything.
    for row in outbound.lease_due():
        outbound.send(row)
    assert outbound.deliver_due()["delivered"] == 0  # leased by A: B leaves them alone
    # After A's lease lapses a new runner on the same database sends again, same keys.
    with clock.frozen_at(later(5)):
        assert outbound.deliver_due()["delivered"] == 2
    for received in (rest.received, mllp.received):
        assert len(received.deliveries) == 2
        assert len(received.unique) == 1
    assert [row.attempts for row in outbox()] == [1, 1]


def test_a_conclusion_without_its_row_is_found_by_the_next_turn(subscribed, team, monkeypatch):
    from telemed.core import events

    # Signed where the exchange hub did not hear of it.
    monkeypatch.setitem(events._in_transaction, "consultation.changed", [])
    advance(team, draft(team), "concluded")
    assert outbox() == []
    counts = outbound.deliver_due()
    assert (counts["enqueued"], counts["delivered"]) == (2, 2)
    assert outbound.deliver_due()["enqueued"] == 0


def test_only_the_requesting_institutions_systems_are_sent(
    network, receivers, team, django_capture_on_commit_callbacks
):
    rest, _mllp = receivers
    other = services.create_member_system(
        "COUNTY_B", name="舞阳县 HIS", sending_application="HIS", sending_facility="COUNTY_B"
    )
    services.subscribe(other, Transport.REST_HOOK, f"http://127.0.0.1:{rest.port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
    assert outbound.deliver_due() == {"enqueued": 0, "delivered": 0, "failed": 0}
    assert outbox() == []


def test_the_outbox_row_is_written_with_the_conclusion_and_once(subscribed, team):
    case = advance(team, draft(team), "concluded")  # no commit yet: same transaction
    assert len(outbox()) == 2
    assert outbound.enqueue(case.conclusions.get()) == []
    assert len(outbox()) == 2


def test_a_signing_that_rolls_back_leaves_no_outbox_row(subscribed, team):
    from django.db import transaction

    from telemed.consultations import services as consultation_services

    case = advance(team, draft(team), "scheduled")
    try:
        with transaction.atomic():
            consultation_services.conclude(team.expert, case.pk, CONCLUSION)
            raise RuntimeError("the signing fails after the conclusion is written")
    except RuntimeError:
        pass
    assert outbox() == []


def test_bad_endpoints_are_refused(his):
    from telemed.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.subscribe(his, Transport.REST_HOOK, "file:///etc/passwd")
    with pytest.raises(ValidationFailed):
        services.subscribe(his, Transport.MLLP, "no-port")


def test_one_endpoint_down_does_not_hold_up_the_others(
    his, receivers, team, django_capture_on_commit_callbacks
):
    rest, _mllp = receivers
    services.subscribe(his, Transport.MLLP, "127.0.0.1:9")  # nothing listens there
    services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{rest.port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
        second = draft(team, patient_name="李桂兰", record="A-0002")
        advance(team, second, "concluded", start=dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC))
    counts = outbound.deliver_due()
    # One attempt at the dead endpoint, its second row left for the next turn; both
    # rest-hook rows delivered.
    assert (counts["delivered"], counts["failed"]) == (2, 1)
    waiting = [row for row in outbox() if row.state == DeliveryState.PENDING]
    assert sorted(row.attempts for row in waiting) == [0, 1]
    assert all(row.leased_until is None for row in waiting)


def test_a_turn_stops_at_its_time_budget(subscribed, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        advance(team, draft(team), "concluded")
    assert outbound.deliver_due(budget_seconds=0)["delivered"] == 0
    assert outbound.deliver_due()["delivered"] == 2  # released, not left leased


def test_a_redirecting_endpoint_is_not_taken_for_delivered(his, team):
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{server.server_port}/")
        advance(team, draft(team), "concluded")
        assert outbound.deliver_due()["failed"] == 1
    finally:
        server.shutdown()
        server.server_close()
    [row] = outbox()
    assert row.state == DeliveryState.PENDING and row.last_error.startswith("HTTP 302")


def test_the_oru_carries_the_hospitals_own_diagnosis_code(
    subscribed, team, django_capture_on_commit_callbacks
):
    from telemed.exchange import codes
    from telemed.exchange.models import CodeKind

    _rest, mllp = subscribed
    steward = make_user("steward", "administrator", team.manager.institution)
    codes.map_code(
        steward,
        team.requester.institution,
        CodeKind.DIAGNOSIS,
        "XJT01",
        "I20.0",
        local_name="心绞痛",
    )
    advance(team, draft(team), "concluded")
    outbound.deliver_due()
    [(_key, oru)] = mllp.received.deliveries
    message = hl7v2.parse(oru.decode())
    diagnosis = next(
        n for n in range(1, 6) if hl7v2.value(message, f"OBX{n}.F3.R1.C1") == "29548-5"
    )
    assert hl7v2.value(message, f"OBX{diagnosis}.F5.R1.C1") == "I20.0"
    assert hl7v2.value(message, f"OBX{diagnosis}.F5.R1.C4") == "XJT01"
    assert hl7v2.value(message, f"OBX{diagnosis}.F5.R1.C6") == "L"
