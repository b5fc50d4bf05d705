"""A hospital end to end: its HIS registers patients over MLLP (resending some), orders
consultations, and gets each signed conclusion back by rest-hook and as ORU^R01, with the
rest-hook receiver down for part of the time. Every count matches at the end."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hl7.client import MLLPClient

from telemed.consultations import services as consultations
from telemed.consultations.models import Consultation
from telemed.consultations.testing import CHECKLIST, CONCLUSION, build_team
from telemed.core import clock
from telemed.directory.models import Disease
from telemed.exchange import mllp, outbound, services
from telemed.exchange.models import DeliveryState, InboundMessage, OutboundMessage, Transport
from telemed.exchange.testing import ack_code, adt, mllp_receiver, order, rest_hook_receiver
from telemed.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hospital_round_trip(his, network):
    Disease.objects.create(icd10="I20.0", name="不稳定型心绞痛", name_en="Unstable angina")
    his.accepts_orders = his.submit_orders = True
    his.save()
    rest, oru = rest_hook_receiver(), mllp_receiver()
    services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{rest.port}/fhir")
    services.subscribe(his, Transport.MLLP, f"127.0.0.1:{oru.port}")
    port, stop = mllp.run_in_thread(workers=2)
    try:
        with MLLPClient("127.0.0.1", port) as client:
            sent = [
                adt("A04", f"REG{n}", f"MR-{n}", name=("孙", f"{'一二三四五六'[n]}"))
                for n in range(6)
            ]
            codes = [ack_code(client.send_message(text)) for text in sent + sent[:2]]
            orders = [order(f"ORD{n}", f"MR-{n}") for n in range(3)]
            codes += [ack_code(client.send_message(text)) for text in orders + orders[-1:]]
        assert codes == ["AA"] * 12
        assert Patient.objects.unscoped("test").count() == 6
        assert InboundMessage.objects.unscoped("test").count() == 9

        team = build_team(network, his.service_user)
        cases = list(Consultation.objects.unscoped("test").order_by("pk"))
        assert [case.state for case in cases] == ["submitted"] * 3
        rest.received.up = False
        for hour, case in enumerate(cases, start=9):
            consultations.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST)
            consultations.triage(team.manager, case.pk, expert_id=team.expert.pk)
            consultations.schedule(
                team.manager,
                case.pk,
                start=dt.datetime(2026, 12, 2, hour, 0, tzinfo=dt.UTC),
                room_id=team.room.pk,
            )
            consultations.conclude(team.expert, case.pk, CONCLUSION)
            outbound.deliver_due()
        assert len(oru.received.unique) == 3
        assert rest.received.unique == {}
        rest.received.up = True
        with clock.frozen_at(clock.now() + dt.timedelta(hours=1)):
            outbound.deliver_due()
    finally:
        stop()
        rest.stop()
        oru.stop()
    states = OutboundMessage.objects.unscoped("test").values_list("state", flat=True)
    assert list(states) == [DeliveryState.DELIVERED] * 6
    numbers = {case.number for case in cases}
    reports = [json.loads(body) for body in rest.received.unique.values()]
    assert {r["basedOn"][0]["identifier"]["value"] for r in reports} == numbers
    assert len(rest.received.unique) == 3 == len(oru.received.unique)
