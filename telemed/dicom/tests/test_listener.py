"""The DICOM listener with real clients: dcmtk's echoscu, storescu and findscu, and
pynetdicom as an SCU for what dcmtk will not send (an aborted association, a damaged
object)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import CTImageStorage
from pynetdicom import AE

from telemed.audit.models import AuditEvent, Outcome
from telemed.dicom.find import STUDY_ROOT_FIND
from telemed.dicom.listener import VERIFICATION
from telemed.dicom.testing import make_node, running_listener
from telemed.imaging.models import ImagingInstance, ImagingStudy
from telemed.imaging.testing import ct_dataset, ct_series, dataset_bytes
from telemed.storage.blobstore import get_blob_store

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("storescu") is None, reason="dcmtk is not installed"),
]


def _testdata(name: str) -> Path:
    return Path(str(get_testdata_file(name)))


def _instances():
    return ImagingInstance.objects.unscoped("test")


def _run(*args: str | Path | int, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def county_node(network):
    return make_node("COUNTY_A", network.county_a)


@pytest.fixture
def port(county_node):
    with running_listener() as port:
        yield port


def _storescu(port: int, *files: Path, aet: str = "COUNTY_A", check: bool = True):
    # -R proposes each file's own transfer syntax, so nothing is converted on the way.
    return _run(
        "storescu", "-R", "-aet", aet, "-aec", "TELEMED", "127.0.0.1", port, *files, check=check
    )


def test_echo_answers(port):
    _run("echoscu", "-aet", "COUNTY_A", "-aec", "TELEMED", "127.0.0.1", port)


def test_an_unknown_calling_ae_is_rejected_and_audited(port):
    result = _run("echoscu", "-aet", "STRANGER", "-aec", "TELEMED", "127.0.0.1", port, check=False)
    assert result.returncode != 0
    assert "Rejected" in result.stdout + result.stderr
    event = AuditEvent.objects.get(object_type="dicom_association")
    assert event.outcome == Outcome.DENIED and "STRANGER" in event.actor
    # The listener keeps serving known callers.
    _run("echoscu", "-aet", "COUNTY_A", "-aec", "TELEMED", "127.0.0.1", port)


def test_a_disabled_or_address_bound_node_does_not_match(network, port, county_node):
    make_node("BOUND", network.county_a, host="10.1.2.3")
    result = _run("echoscu", "-aet", "BOUND", "-aec", "TELEMED", "127.0.0.1", port, check=False)
    assert result.returncode != 0
    county_node.enabled = False
    county_node.save()
    assert (
        _run(
            "echoscu", "-aet", "COUNTY_A", "-aec", "TELEMED", "127.0.0.1", port, check=False
        ).returncode
        != 0
    )


def test_storescu_pushes_a_series_and_it_is_indexed(tmp_path, port, network):
    paths = ct_series(tmp_path, 4)
    _storescu(port, *paths)
    study = ImagingStudy.objects.unscoped("test").get()
    assert study.institution == network.county_a and study.calling_ae_title == "COUNTY_A"
    assert study.instance_count == 4
    for path in paths:
        sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        instance = _instances().get(sop_instance_uid=sop)
        with get_blob_store().open(instance.blob.sha256) as stream:
            assert dataset_bytes(stream.read()) == dataset_bytes(path.read_bytes())
    # One event for the study on this association, one summary at its end.
    assert AuditEvent.objects.filter(object_type="imaging_study").count() == 1
    summary = AuditEvent.objects.get(object_type="imaging_batch")
    assert list(summary.detail["instances_per_study"].values()) == [4]
    # Sending again is a no-op.
    _storescu(port, *paths)
    assert _instances().count() == 4


@pytest.mark.parametrize(
    ("name", "propose"),
    [
        ("CT_small.dcm", "-R"),
        ("SC_rgb_jpeg_dcmtk.dcm", "-xy"),  # JPEG baseline
        ("JPEG2000.dcm", "-xw"),  # JPEG 2000
        ("SC_rgb_rle.dcm", "-xr"),  # RLE
    ],
)
def test_compressed_objects_are_stored_as_received(port, name, propose):
    source = _testdata(name)
    _run("storescu", propose, "-aet", "COUNTY_A", "-aec", "TELEMED", "127.0.0.1", port, source)
    instance = _instances().get()
    sent = pydicom.dcmread(source)
    assert instance.transfer_syntax_uid == str(sent.file_meta.TransferSyntaxUID)
    with get_blob_store().open(instance.blob.sha256) as stream:
        stored = pydicom.dcmread(io.BytesIO(stream.read()))
    # storescu re-encodes the data set it read (dropping group lengths and trailing
    # padding), so the
    # elements are compared here and the bytes in the next test.
    assert stored.PixelData == sent.PixelData
    assert _without_group_lengths(stored) == _without_group_lengths(sent)


def _without_group_lengths(ds: pydicom.Dataset) -> list[pydicom.DataElement]:
    return [e for e in ds if e.tag.element != 0 and e.tag != 0xFFFCFFFC]


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm"])
def test_the_bytes_sent_are_the_bytes_stored(port, name, monkeypatch):
    from pynetdicom import _config

    # pynetdicom then sends the file's data set bytes without decoding them.
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    source = _testdata(name)
    ae = AE(ae_title="COUNTY_A")
    syntax = pydicom.dcmread(source, stop_before_pixels=True).file_meta.TransferSyntaxUID
    ae.add_requested_context(pydicom.dcmread(source, stop_before_pixels=True).SOPClassUID, syntax)
    assoc = ae.associate("127.0.0.1", port, ae_title="TELEMED")
    assert assoc.send_c_store(source).Status == 0x0000
    assoc.release()
    with get_blob_store().open(_instances().get().blob.sha256) as stream:
        assert dataset_bytes(stream.read()) == dataset_bytes(source.read_bytes())


def test_an_unregistered_sop_class_is_refused_at_negotiation(port):
    result = _storescu(port, _testdata("rtplan.dcm"), check=False)
    assert (
        result.returncode != 0
        or "no acceptable presentation context" in (result.stdout + result.stderr).lower()
    )
    assert not _instances().exists()


def _associate(port: int):
    ae = AE(ae_title="COUNTY_A")
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="TELEMED")
    assert assoc.is_established
    return assoc


def test_an_aborted_association_keeps_what_was_acknowledged(tmp_path, port):
    paths = ct_series(tmp_path, 5)
    assoc = _associate(port)
    for path in paths[:3]:
        assert assoc.send_c_store(path).Status == 0x0000
    assoc.abort()
    assert _instances().count() == 3
    assert ImagingStudy.objects.unscoped("test").get().instance_count == 3
    _storescu(port, *paths[3:])
    assert _instances().count() == 5


def test_bad_objects_get_a_failure_status_and_the_next_one_goes_through(tmp_path, port):
    from pydicom.uid import generate_uid

    huge = ct_dataset(
        study_uid=generate_uid(), series_uid=generate_uid(), Rows=65535, Columns=65535
    )
    slash = ct_dataset(study_uid="1.2.3/4", series_uid=generate_uid())
    no_patient = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid(), PatientID=None)
    short = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid(), PixelData=b"\0" * 10)
    assoc = _associate(port)
    statuses = [assoc.send_c_store(ds).Status for ds in (huge, slash, no_patient, short)]
    assert statuses == [0xA700, 0xC000, 0xC000, 0xA900]
    good = ct_series(tmp_path, 1)[0]
    assert assoc.send_c_store(good).Status == 0x0000
    assoc.release()
    assert _instances().count() == 1
    assert AuditEvent.objects.filter(object_type="imaging_instance", outcome="denied").count() == 4


def _findscu(
    port: int, out: Path, model: str, *keys: str, aet: str = "COUNTY_A"
) -> list[pydicom.Dataset]:
    out.mkdir(parents=True, exist_ok=True)
    args: list[str | Path | int] = [
        "findscu",
        model,
        "-aet",
        aet,
        "-aec",
        "TELEMED",
        "-X",
        "-od",
        out,
    ]
    for key in keys:
        args += ["-k", key]
    _run(*args, "127.0.0.1", port)
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def test_findscu_study_and_patient_root(tmp_path, network, port):
    make_node("COUNTY_B", network.county_b)
    ct_a = ct_series(tmp_path / "a", 2, patient_id="A-0001", StudyDate="20261120")
    ct_b = ct_series(tmp_path / "b", 1, patient_id="A-0002", StudyDate="20261125")
    other = ct_series(tmp_path / "c", 1, patient_id="B-0001")
    _storescu(port, *ct_a, *ct_b)
    _storescu(port, *other, aet="COUNTY_B")

    studies = _findscu(
        port,
        tmp_path / "q1",
        "-S",
        "QueryRetrieveLevel=STUDY",
        "PatientID",
        "StudyInstanceUID",
        "StudyDate=20261101-20261122",
        "NumberOfStudyRelatedInstances",
    )
    assert [(s.PatientID, s.NumberOfStudyRelatedInstances) for s in studies] == [("A-0001", 2)]

    everything = _findscu(port, tmp_path / "q2", "-S", "QueryRetrieveLevel=STUDY", "PatientID")
    # County B's study is not answered to county A.
    assert sorted(s.PatientID for s in everything) == ["A-0001", "A-0002"]

    study_uid = pydicom.dcmread(ct_a[0]).StudyInstanceUID
    images = _findscu(
        port,
        tmp_path / "q3",
        "-S",
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={study_uid}",
        f"SeriesInstanceUID={pydicom.dcmread(ct_a[0]).SeriesInstanceUID}",
        "SOPInstanceUID",
        "InstanceNumber",
    )
    assert sorted(int(i.InstanceNumber) for i in images) == [1, 2]

    patients = _findscu(
        port,
        tmp_path / "q4",
        "-P",
        "QueryRetrieveLevel=PATIENT",
        "PatientID=A-000?",
        "PatientName",
        "NumberOfPatientRelatedStudies",
    )
    assert [(p.PatientID, p.NumberOfPatientRelatedStudies) for p in patients] == [
        ("A-0001", 1),
        ("A-0002", 1),
    ]

    series = _findscu(
        port,
        tmp_path / "q5",
        "-P",
        "QueryRetrieveLevel=SERIES",
        "PatientID=A-0001",
        f"StudyInstanceUID={study_uid}",
        "SeriesInstanceUID",
        "Modality=CT",
        "NumberOfSeriesRelatedInstances",
    )
    assert [s.NumberOfSeriesRelatedInstances for s in series] == [2]
    # Each query is one audit event, with the number of answers.
    searches = AuditEvent.objects.filter(action="search", object_type__startswith="imaging_")
    assert searches.count() == 5
    assert searches.get(object_type="imaging_patient").detail["results"] == 2


def test_a_query_breaking_the_hierarchy_fails(port):
    ae = AE(ae_title="COUNTY_A")
    ae.add_requested_context(STUDY_ROOT_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="TELEMED")
    query = pydicom.Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.SeriesInstanceUID = ""
    query.StudyInstanceUID = "1.2.3*"  # a series query needs one study UID, not a pattern
    statuses = [status.Status for status, _ in assoc.send_c_find(query, STUDY_ROOT_FIND)]
    assoc.release()
    assert statuses == [0xA900]


def test_two_associations_storing_one_study_at_once_lose_nothing(tmp_path, port):
    import threading

    from pydicom.uid import generate_uid

    study = generate_uid()
    halves = [
        ct_series(tmp_path / "a", 4, study_uid=study),
        ct_series(tmp_path / "b", 4, study_uid=study),
    ]
    statuses: list[int] = []

    def send(paths: list[Path]) -> None:
        assoc = _associate(port)
        statuses.extend(assoc.send_c_store(path).Status for path in paths)
        assoc.release()

    threads = [threading.Thread(target=send, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [0] * 8
    indexed = ImagingStudy.objects.unscoped("test").get()
    assert (indexed.series_count, indexed.instance_count) == (2, 8)
