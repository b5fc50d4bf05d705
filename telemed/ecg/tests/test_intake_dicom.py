"""ECG intake by DICOM C-STORE: dcmtk's storescu pushes 12-lead ECG waveform objects (built
with pydicom from the real PTB record s0010_re) to the running listener; each arrives as an
ECG case in the sending clinic's pool, measured. Bad objects get a DIMSE failure status
with the reason, nothing is stored, and the listener serves the next association."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from telemed.audit.models import AuditEvent, Outcome
from telemed.consultations.models import Consultation
from telemed.dicom.testing import make_node, running_listener
from telemed.ecg import analysis_view
from telemed.ecg import samples as sample_store
from telemed.ecg.models import EcgRecording, EcgSourceFile
from telemed.ecg.tests import dicom_fixtures as dcm
from telemed.ecg.tests.signal_fixtures import synthetic
from telemed.imaging.testing import dataset_bytes
from telemed.patients.models import ConsentKind
from telemed.patients.services import record_consent
from telemed.storage.blobstore import get_blob_store
from telemed.storage.models import Blob
from telemed.testing import register

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("storescu") is None, reason="dcmtk is not installed"),
]


@pytest.fixture
def port(world):
    make_node("CART_A", world.network.county_a)
    with running_listener() as port:
        yield port


def storescu(port: int, path: Path, *, aet: str = "CART_A") -> str:
    """Send one file; the output names the DIMSE status dcmtk got back (-v prints it)."""
    result = subprocess.run(
        ["storescu", "-d", "-R", "-aet", aet, "-aec", "TELEMED", "127.0.0.1", str(port), path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


def status_of(output: str) -> int:
    found = re.findall(r"status(?: code)?[: ]+0x([0-9a-fA-F]{4})", output, flags=re.IGNORECASE)
    assert found, output[-3000:]
    return int(found[-1], 16)


def ecg_cases():
    return Consultation.objects.unscoped("test").filter(kind="ecg")


def test_a_twelve_lead_ecg_by_c_store_is_in_the_pool_measured(world, port, tmp_path):
    record = dcm.ptb_twelve_lead()
    path = dcm.write(dcm.ecg_object(record), tmp_path / "ptb.dcm")
    output = storescu(port, path)
    assert status_of(output) == 0x0000, output

    case = ecg_cases().get()
    assert case.state == "accepted" and case.patient_id == world.patient.pk
    assert case.requesting_institution == world.network.county_a
    recording = EcgRecording.objects.unscoped("test").get(consultation=case)
    assert recording.pool == world.pool and recording.source_format == "dicom"
    assert list(recording.leads) == list(record.leads) and recording.sampling_rate == 1000
    # Measured on intake: the PTB record's sinus rhythm is around 70 bpm.
    measured = analysis_view.measurements(recording.analysis)
    assert 50 < (measured["heart_rate_bpm"] or 0) < 100, measured
    stored = sample_store.read_all(recording.samples_id, 12, recording.n_samples)
    assert abs(stored - record.samples).max() <= 2.5  # the object's 2.5 uV resolution
    # The original is kept byte for byte (the file meta is the receiver's own).
    original = EcgSourceFile.objects.unscoped("test").get(recording=recording)
    with get_blob_store().open(original.blob_id) as stream:
        assert dataset_bytes(stream.read()) == dataset_bytes(path.read_bytes())
    # The node's institution's service account submitted it; the node is named.
    assert case.requested_by.username == "dicom-county_a"
    submitted = case.events.get(action="submit")
    assert submitted.detail["channel"] == "dicom"
    assert submitted.detail["sender"] == "CART_A@127.0.0.1"

    # Sent again (the cart lost the answer): success, and still one case.
    assert status_of(storescu(port, path)) == 0x0000
    assert ecg_cases().count() == 1


def test_a_general_ecg_object_is_taken_too(world, port, tmp_path):
    record, _truth = synthetic(heart_rate=180)
    path = dcm.write(dcm.ecg_object(record, general=True), tmp_path / "general.dcm")
    assert status_of(storescu(port, path)) == 0x0000
    recording = EcgRecording.objects.unscoped("test").get()
    assert recording.critical  # a rate of 180 is flagged


def _bad(record):
    return [
        ("rate", dcm.with_rate(dcm.ecg_object(record), "50"), 0xC000, "sampling rate 50"),
        ("length", dcm.with_short_data(dcm.ecg_object(record)), 0xC000, "could not be decoded"),
        ("unit", dcm.with_unit(dcm.ecg_object(record), "mmHg"), 0xC000, "not a voltage"),
        ("empty", dcm.without_waveform(dcm.ecg_object(record)), 0xC000, "holds no waveform"),
        ("short", dcm.ecg_object(dcm.one_second(record)), 0xC000, "lasts 1.00 s"),
        ("unknown", dcm.ecg_object(record, patient_id="NOBODY"), 0x0110, "not registered"),
        ("born", dcm.ecg_object(record, birth_date="19991231"), 0x0110, "birth date"),
        ("sex", dcm.ecg_object(record, sex="M"), 0x0110, "sex does not match"),
    ]


def test_bad_objects_are_refused_with_their_reason_and_nothing_is_stored(world, port, tmp_path):
    record, _truth = synthetic()
    blobs = Blob.objects.count()
    for name, ds, status, reason in _bad(record):
        output = storescu(port, dcm.write(ds, tmp_path / f"{name}.dcm"))
        assert status_of(output) == status, (name, output)
        assert reason in output, (name, output)
    assert not ecg_cases().exists()
    assert not EcgRecording.objects.unscoped("test").exists()
    assert Blob.objects.count() == blobs
    refusals = AuditEvent.objects.filter(object_type="ecg", outcome=Outcome.DENIED)
    assert refusals.count() == len(_bad(record))
    # The listener goes on serving: a sound object on the next association is taken.
    good = dcm.write(dcm.ecg_object(record), tmp_path / "good.dcm")
    assert status_of(storescu(port, good)) == 0x0000
    assert ecg_cases().count() == 1


def test_a_patient_without_consent_on_record_is_refused(world, port, tmp_path):
    registered = register(world.requester, "赵志强", "ECG-0002", sex="male")
    record_consent(world.requester, registered.patient, ConsentKind.TELEMEDICINE, False)
    record, _truth = synthetic()
    ds = dcm.ecg_object(record, patient_id="ECG-0002", sex="M")
    output = storescu(port, dcm.write(ds, tmp_path / "refused.dcm"))
    assert status_of(output) == 0x0110 and "No consent to telemedicine" in output
    assert not ecg_cases().exists()


def test_the_same_instance_with_other_content_is_refused(world, port, tmp_path):
    record, _truth = synthetic()
    first = dcm.ecg_object(record)
    assert status_of(storescu(port, dcm.write(first, tmp_path / "first.dcm"))) == 0
    changed = dcm.ecg_object(synthetic(heart_rate=90)[0])
    changed.SOPInstanceUID = first.SOPInstanceUID
    changed.file_meta.MediaStorageSOPInstanceUID = first.SOPInstanceUID
    output = storescu(port, dcm.write(changed, tmp_path / "changed.dcm"))
    assert status_of(output) == 0x0111, output
    assert ecg_cases().count() == 1


def test_two_copies_sent_at_the_same_moment_make_one_case(world, port, tmp_path):
    """Two carts' associations (or a cart retrying while its first try is still being
    stored) deliver one instance at once: one case, both answered success."""
    import concurrent.futures

    path = dcm.write(dcm.ecg_object(synthetic()[0]), tmp_path / "twice.dcm")
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        outputs = list(pool.map(lambda _n: storescu(port, path), range(3)))
    assert [status_of(output) for output in outputs] == [0x0000] * 3
    assert ecg_cases().count() == 1


def test_a_registration_desk_cart_registers_the_patient_it_names(world, tmp_path):
    """A clinic cart configured as its site's registration desk: an unknown patient ID is
    registered from the object (the ideographic name, birth date, sex) with the site's
    consent statement; the cart's next ECG for that patient files to the same record. A
    cart without the flag is refused for the same object, and an object without a birth
    date cannot register anyone."""
    from telemed.dicom.testing import make_node
    from telemed.patients.models import Patient

    make_node("CART_DESK", world.network.county_a, registers_patients=True)
    make_node("CART_PLAIN", world.network.county_a)
    before = Patient.objects.unscoped("test").count()
    ds = dcm.ecg_object(synthetic()[0], patient_id="WALKIN-7", sex="M", birth_date="19580203")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Zhao^Jianguo=赵^建国"
    path = dcm.write(ds, tmp_path / "walkin.dcm")
    no_birth = dcm.ecg_object(synthetic()[0], patient_id="WALKIN-8", birth_date="")
    with running_listener() as port:
        plain = storescu(port, path, aet="CART_PLAIN")
        assert status_of(plain) == 0x0110 and "not registered" in plain
        assert status_of(storescu(port, path, aet="CART_DESK")) == 0x0000
        again = dcm.ecg_object(
            synthetic()[0], patient_id="WALKIN-7", sex="M", birth_date="19580203"
        )
        assert (
            status_of(storescu(port, dcm.write(again, tmp_path / "again.dcm"), aet="CART_DESK"))
            == 0
        )
        refused = storescu(port, dcm.write(no_birth, tmp_path / "nobirth.dcm"), aet="CART_DESK")
        assert status_of(refused) == 0x0110 and "birth date" in refused
    assert Patient.objects.unscoped("test").count() == before + 1
    patient = Patient.objects.unscoped("test").get(registrations__record_number="WALKIN-7")
    assert (patient.name, patient.sex, str(patient.birth_date)) == ("赵建国", "male", "1958-02-03")
    assert ecg_cases().filter(patient=patient).count() == 2
