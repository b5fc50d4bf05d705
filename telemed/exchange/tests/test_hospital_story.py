"""A member hospital end to end, over the real borders (issue 7's "Done means").

Its HIS registers patients over MLLP with the ``hl7`` package's client (resending some),
orders two consultations as HL7 orders and submits three as FHIR transaction Bundles with
fhirclient (two for patients it registered over MLLP, matched by record number, one for a
patient new to the platform), and follows every case's Task as the platform's people move
it. Each signed report comes back by rest-hook and as ORU^R01; the rest-hook receiver is
down for the first reports, and a delivery runner dies after sending and before recording
(the platform restarts: its lease lapses and the next runner sends again with the same
idempotency key). At the end every count matches: patients, messages, Tasks, each report
received once per transport, no dead letters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fhirclient import client as fhir_client
from fhirclient.models.bundle import Bundle as ClientBundle
from fhirclient.models.patient import Patient as ClientPatient
from hl7.client import MLLPClient

from telemed.consultations import services as consultations
from telemed.consultations.models import Consultation
from telemed.consultations.testing import CHECKLIST, CONCLUSION, build_team
from telemed.core import clock
from telemed.directory.models import Disease
from telemed.exchange import hl7v2, mllp, outbound, services, transports
from telemed.exchange.models import (
    DeliveryAttempt,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    Transport,
)
from telemed.exchange.testing import ack_code, adt, mllp_receiver, order, rest_hook_receiver
from telemed.fhir.systems import mrn_system
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import valid
from telemed.fhir.tests.test_his_story import connect, task_state
from telemed.patients.models import Patient

NAMES = ["孙一", "孙二", "孙三", "孙四", "孙五", "孙六"]
MRN = mrn_system("COUNTY_A")


def fhir_submission(record: str, name: str, *, birth: str = "1960-05-17") -> dict[str, Any]:
    """A transaction (Task + Patient + ServiceRequest) whose Patient is created only when
    no patient with this record number at the hospital exists yet."""
    bundle = make.consultation_bundle()
    patient = make.patient(record, name, resident=False, birth=birth)
    patient_entry = bundle["entry"][1]
    patient_entry["resource"] = patient
    patient_entry["request"]["ifNoneExist"] = f"identifier={MRN}|{record}"
    return bundle


def read(smart: fhir_client.FHIRClient, path: str) -> dict[str, Any]:
    """A FHIR read or search, validated with fhir.resources."""
    body = smart.server.request_json(path)
    valid(body)
    return dict(body)


@contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    with clock.frozen_at(moment):
        yield


def steps_of(team: Any, case: Consultation, start: dt.datetime) -> list[Any]:
    """The platform's people take the case from submitted to concluded, one step each."""
    return [
        lambda: consultations.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST),
        lambda: consultations.triage(team.manager, case.pk, expert_id=team.expert.pk),
        lambda: consultations.schedule(team.manager, case.pk, start=start, room_id=team.room.pk),
        lambda: consultations.conclude(team.expert, case.pk, CONCLUSION),
    ]


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hospital_plays_its_whole_story(live_server, network, his):
    Disease.objects.create(icd10="I20.0", name="不稳定型心绞痛", name_en="Unstable angina")
    his.accepts_orders = his.submit_orders = True
    his.save()
    rest, oru = rest_hook_receiver(), mllp_receiver()
    services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{rest.port}/fhir")
    services.subscribe(his, Transport.MLLP, f"127.0.0.1:{oru.port}", receiving_application="HIS")
    port, stop_listener = mllp.run_in_thread(workers=2)
    try:
        _story(live_server, network, his, rest, oru, port)
    finally:
        stop_listener()
        rest.stop()
        oru.stop()


def _story(live_server, network, his, rest, oru, port) -> None:
    # -- registration over MLLP, some messages sent twice ---------------------------------
    registrations = [
        adt("A04", f"REG{n}", f"MR-{n}", name=(n_[0], n_[1:])) for n, n_ in enumerate(NAMES)
    ]
    orders = [order(f"ORD{n}", f"MR-{n}") for n in range(2)]
    update = adt("A08", "UPD0", "MR-0", name=("孙", "一"), phone="13900000000")
    with MLLPClient("127.0.0.1", port) as client:
        codes = [ack_code(client.send_message(m)) for m in registrations + registrations[:2]]
        codes += [ack_code(client.send_message(m)) for m in [*orders, orders[0], update, update]]
    assert codes == ["AA"] * 13
    assert Patient.objects.unscoped("test").count() == 6
    messages = InboundMessage.objects.unscoped("test")
    assert messages.count() == 9  # 6 registrations, 2 orders, 1 update: each stored once
    assert sorted(messages.values_list("times_received", flat=True)) == [1] * 5 + [2] * 4

    # -- consultations as FHIR transactions ----------------------------------------------
    smart = connect(live_server.url, "COUNTY_A", "system/*.cruds")
    submissions = [
        fhir_submission("MR-2", "孙三"),
        fhir_submission("MR-3", "孙四"),
        fhir_submission("MR-9", "钱七", birth="1971-02-03"),  # new to the platform
    ]
    numbers: list[str] = []
    patient_ids: list[str] = []
    patient_statuses: list[str] = []
    for bundle in submissions:
        response = smart.server.post_json("", bundle)
        assert response.status_code == 200, response.text
        answer = response.json()
        valid(answer)
        parsed = ClientBundle(answer)
        task_entry, patient_entry, request_entry = parsed.entry
        numbers.append(task_entry.resource.id)
        patient_ids.append(patient_entry.resource.id)
        patient_statuses.append(patient_entry.response.status)
        assert [e.response.status for e in (task_entry, request_entry)] == ["201", "201"]
    # The two MLLP-registered patients were matched by record number, not created again.
    assert patient_statuses == ["200", "200", "201"]
    assert Patient.objects.unscoped("test").count() == 7
    for record, mpi_id in zip(["MR-2", "MR-3"], patient_ids[:2], strict=True):
        found = read(smart, f"Patient?identifier={MRN}|{record}")
        assert [e["resource"]["id"] for e in found["entry"]] == [mpi_id]
    patient = ClientPatient(read(smart, f"Patient/{patient_ids[2]}"))
    assert patient.name[0].text == "钱七"
    # The A08 reached the MPI: the HIS reads the phone it sent.
    updated = read(smart, f"Patient?identifier={MRN}|MR-0")["entry"][0]["resource"]
    assert updated["telecom"][0]["value"] == "13900000000"

    order_case_ids = messages.filter(message_type__startswith="ORM").order_by("control_id")
    ordered = [
        Consultation.objects.unscoped("test").get(pk=pk)
        for pk in order_case_ids.values_list("consultation_id", flat=True)
        if pk is not None
    ]
    assert len(ordered) == 2
    cases = ordered + [Consultation.objects.unscoped("test").get(number=n) for n in numbers]
    assert [case.state for case in cases] == ["submitted"] * 5
    tasks = read(smart, "Task?_count=50")
    assert sorted(e["resource"]["id"] for e in tasks["entry"]) == sorted(c.number for c in cases)

    # -- the platform's people work the cases; the HIS watches each Task move -------------
    team = build_team(network, his.service_user)
    start = clock.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    t0 = clock.now()
    rest.received.up = False
    first, second = cases[:3], cases[3:]
    with at(t0):
        for hour, case in enumerate(first):
            _work(smart, team, case, start + dt.timedelta(hours=hour))

    # A runner leases the due rows, sends one, and dies before recording it.
    with at(t0 + dt.timedelta(seconds=1)):
        leased = outbound.lease_due()
        assert len(leased) == 6
        doomed = next(m for m in leased if m.subscription.transport == Transport.MLLP)
        transports.send(doomed)
        assert len(oru.received.deliveries) == 1
        # While its lease holds, nobody sends the rows again.
        assert outbound.deliver_due() == {"enqueued": 0, "delivered": 0, "failed": 0}
    # The platform is back: the lease lapses, the rows are due again.
    with at(t0 + outbound.LEASE + dt.timedelta(seconds=5)):
        turn = outbound.deliver_due()
    assert turn["delivered"] == 3 and turn["failed"] >= 1
    assert len(oru.received.deliveries) == 4 and len(oru.received.unique) == 3
    assert rest.received.unique == {}
    # Still down a while later: the rest-hook rows fail again, none is lost.
    for minutes in (10, 20, 40):
        with at(t0 + dt.timedelta(minutes=minutes)):
            outbound.deliver_due()
    assert rest.received.unique == {}

    # The receiver comes back; the second batch is worked while it is up.
    rest.received.up = True
    later = t0 + dt.timedelta(hours=1)
    with at(later):
        assert outbound.deliver_due()["delivered"] == 3
        for hour, case in enumerate(second, start=len(first)):
            _work(smart, team, case, start + dt.timedelta(hours=hour))
        assert outbound.deliver_due()["delivered"] == 4

    # -- every count matches ---------------------------------------------------------------
    all_numbers = {case.number for case in cases}
    outbox = OutboundMessage.objects.unscoped("test")
    assert outbox.count() == 10
    assert set(outbox.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    assert not outbox.filter(state=DeliveryState.DEAD).exists()
    assert len(rest.received.unique) == 5 == len(oru.received.unique)
    assert set(rest.received.unique) | set(oru.received.unique) == {
        str(key) for key in outbox.values_list("idempotency_key", flat=True)
    }
    # Each repeat the receivers saw carried a key they had already: dropped.
    assert len(oru.received.deliveries) == 6 and len(rest.received.deliveries) == 5
    reports = [json.loads(body) for body in rest.received.unique.values()]
    for body in reports:
        valid(body)
        read(smart, f"DiagnosticReport/{body['id']}")
    assert {r["basedOn"][0]["identifier"]["value"] for r in reports} == all_numbers
    # Each ORU names the patient by the hospital's own record number.
    records = {}
    for text in oru.received.unique.values():
        message = hl7v2.parse(text.decode("utf-8"))
        records[hl7v2.value(message, "OBR.F2")] = hl7v2.value(message, "PID.F3").split("^")[0]
    assert records == {
        cases[0].number: "MR-0",
        cases[1].number: "MR-1",
        numbers[0]: "MR-2",
        numbers[1]: "MR-3",
        numbers[2]: "MR-9",
    }
    # The delivery log: every attempt recorded, the rest-hook's failures among them.
    log = DeliveryAttempt.objects.unscoped("test")
    assert log.count() == sum(outbox.values_list("attempts", flat=True))
    assert log.filter(succeeded=False, status="HTTP 503").count() >= 3
    assert log.filter(succeeded=True).count() == 10
    assert Patient.objects.unscoped("test").count() == 7
    assert InboundMessage.objects.unscoped("test").count() == 9
    assert Consultation.objects.unscoped("test").count() == 5
    assert len(read(smart, "Task?_count=50")["entry"]) == 5


def _work(smart: fhir_client.FHIRClient, team: Any, case: Consultation, start: dt.datetime) -> None:
    """Move one case to concluded, reading its Task after each step as the HIS does."""
    status, state, version = task_state(smart, case.number)
    assert (status, state) == ("requested", "submitted")
    seen = []
    for step in steps_of(team, case, start):
        step()
        seen.append(task_state(smart, case.number))
    assert [(status, state) for status, state, _v in seen] == [
        ("received", "accepted"),
        ("accepted", "assigned"),
        ("ready", "scheduled"),
        ("completed", "concluded"),
    ]
    versions = [int(version)] + [int(v) for *_s, v in seen]
    assert versions == list(range(versions[0], versions[0] + 5))
