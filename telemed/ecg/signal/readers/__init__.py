"""Read an uploaded ECG in any intake format into one ``EcgRecord`` (microvolts).

Formats and how they are recognised (the file name first, then the content):

- ``wfdb``: ``NAME.hea`` plus the signal files its header names (usually ``NAME.dat``);
  upload them together, ``filename`` being the header.
- ``dicom``: a DICOM 12-lead or general ECG waveform object (``.dcm``, or ``DICM`` at 128).
- ``aecg``: HL7 aECG XML (``.xml``); DTDs and entities are refused.
- ``csv``: a header row of lead names, one row per sample, in microvolts unless the header
  says otherwise; the rate as a ``# sampling_rate=500`` line or a ``time`` column in
  seconds (see ``csv_format``).
- ``fhir``: a FHIR R4 ``Observation`` (JSON) whose components carry ``valueSampledData``.

Every refusal is an ``EcgFormatError`` with a sentence for a person; nothing is returned
half-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import Upload, max_bytes, read_limited
from telemed.ecg.signal.record import EcgRecord

FORMATS = ("wfdb", "dicom", "aecg", "csv", "fhir")
_EXTENSIONS = {
    ".hea": "wfdb",
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".xml": "aecg",
    ".csv": "csv",
    ".txt": "csv",
    ".json": "fhir",
}


def read_record(files: Mapping[str, Upload] | Upload, *, filename: str) -> EcgRecord:
    """Read one ECG record from uploaded files.

    ``files`` maps each uploaded file's name to its bytes (or a binary file object);
    ``filename`` names the main one (a WFDB header, or the single file). A single upload may
    also be passed as bytes. Raises ``EcgFormatError`` (422, or 413 over ``ECG_MAX_BYTES``).
    """
    uploads: Mapping[str, Upload] = (
        files if isinstance(files, Mapping) else {_basename(filename): files}
    )
    data = read_limited({_basename(name): upload for name, upload in uploads.items()})
    main = _basename(filename)
    if main not in data:
        raise EcgFormatError(_("The file %(name)s was not uploaded.") % {"name": main[:80]})
    fmt = detect_format(main, data[main])
    if fmt == "wfdb":
        from telemed.ecg.signal.readers.wfdb_format import read_wfdb

        return read_wfdb(data, header_name=main)
    content = data[main]
    if fmt == "dicom":
        from telemed.ecg.signal.readers.dicom_format import read_dicom

        return read_dicom(content)
    if fmt == "aecg":
        from telemed.ecg.signal.readers.aecg_format import read_aecg

        return read_aecg(content)
    if fmt == "csv":
        from telemed.ecg.signal.readers.csv_format import read_csv

        return read_csv(content)
    from telemed.ecg.signal.readers.fhir_format import read_fhir

    return read_fhir(content)


def read_path(path: str | Path) -> EcgRecord:
    """Read a record from disk (the command line): a WFDB record by its ``.hea`` path, whose
    signal files are taken from the same folder, or any single-file format."""
    path = Path(path)
    if not path.is_file():
        raise EcgFormatError(_("No such file: %(path)s") % {"path": str(path)[:200]})
    limit = max_bytes()
    if path.suffix.lower() == ".hea":
        files: dict[str, Upload] = {path.name: path.read_bytes()[: limit + 1]}
        for sibling in sorted(path.parent.glob(f"{path.stem}.*")):
            if sibling.suffix.lower() not in (".hea", ".atr", ".qrs") and sibling.is_file():
                files[sibling.name] = sibling.open("rb")
        try:
            return read_record(files, filename=path.name)
        finally:
            for upload in files.values():
                if not isinstance(upload, bytes):
                    upload.close()
    with path.open("rb") as handle:
        return read_record({path.name: handle}, filename=path.name)


def detect_format(filename: str, content: bytes) -> str:
    """The format of one upload, from its extension, else from its first bytes."""
    suffix = Path(filename).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    head = content[:256].lstrip()
    if len(content) > 132 and content[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"<"):
        return "aecg"
    if head.startswith(b"{"):
        return "fhir"
    if head.startswith(b"#") or b"," in head:
        return "csv"
    raise EcgFormatError(
        _("The format of %(name)s is not recognised (WFDB, DICOM, aECG, CSV or FHIR JSON).")
        % {"name": filename[:80]}
    )


def _basename(name: str) -> str:
    # Browsers and carts may send a path; only the last part names the file.
    return name.replace("\\", "/").rsplit("/", 1)[-1]
