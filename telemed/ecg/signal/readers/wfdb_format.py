"""WFDB records (PhysioNet): a ``.hea`` header and the signal files it names (``.dat``).

Read from the uploaded bytes with our own header parser (``wfdb_header``) and decoders
(``wfdb_samples``): wfdb's reader wants files on disk and parses the header twice through
pandas, which cost more than the whole analysis. The samples equal ``wfdb.rdrecord``'s
(physical units, frames of several samples averaged, skew applied); the tests compare them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers import wfdb_samples
from telemed.ecg.signal.readers.common import build_record, unit_factor
from telemed.ecg.signal.readers.wfdb_header import HeaderError, SignalSpec, WfdbHeader, parse_header
from telemed.ecg.signal.record import EcgRecord

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class _File:
    """One signal file and the signals stored in it, in their order in its frames."""

    name: str
    fmt: str
    byte_offset: int
    signals: tuple[int, ...]  # indices into the header's signal lines

    def frame_size(self, header: WfdbHeader) -> int:
        return sum(header.signals[i].samples_per_frame for i in self.signals)


def read_wfdb(files: dict[str, bytes], *, header_name: str) -> EcgRecord:
    """Read the record whose header is ``files[header_name]``.

    Only the signal files among ``files`` are read: a header naming a path (``../x``,
    ``/etc/...``) is refused, and channels whose file was not uploaded are left out (a PTB
    record uploaded without its ``.xyz`` Frank leads still reads its 12 leads).
    """
    record_name = header_name[: -len(".hea")]
    for name in files:
        if not _SAFE_NAME.match(name):
            raise EcgFormatError(_("The file name %(name)s is not accepted.") % {"name": name[:80]})
    try:
        header = parse_header(files[header_name])
    except HeaderError as exc:
        raise EcgFormatError(
            _("The WFDB header could not be read: %(reason)s") % {"reason": str(exc)[:200]}
        ) from None
    signal_files = _signal_files(header, files)
    sig_len = _length(header, signal_files[0], files)
    for signal_file in signal_files:
        _check_size(header, signal_file, files, sig_len)
    channels: dict[int, np.ndarray] = {}
    for signal_file in signal_files:
        channels.update(_read_file(header, signal_file, files[signal_file.name], sig_len))
    present = sorted(channels)
    names = [header.signals[i].description or f"channel {n + 1}" for n, i in enumerate(present)]
    leads = [
        channels[i] * unit_factor(header.signals[i].units, lead=names[n])
        for n, i in enumerate(present)
    ]
    meta = {"record": record_name, "comments": " | ".join(header.comments)[:500]}
    if header.base_date or header.base_time:
        meta["acquired"] = " ".join(str(x) for x in (header.base_date, header.base_time) if x)
    return build_record(
        sampling_rate=header.sampling_rate,
        leads=names,
        channels=leads,
        source_format="wfdb",
        meta=meta,
    )


def _signal_files(header: WfdbHeader, files: dict[str, bytes]) -> list[_File]:
    """The uploaded signal files, in the order the header first names them."""
    if not header.signals:
        raise EcgFormatError(_("The WFDB header names no signals."))
    by_name: dict[str, list[int]] = {}
    for index, spec in enumerate(header.signals):
        by_name.setdefault(spec.file_name, []).append(index)
    for name in by_name:
        if not _SAFE_NAME.match(name):
            raise EcgFormatError(
                _("The WFDB header names the signal file %(name)s, which is not accepted.")
                % {"name": name[:80]}
            )
    present = [name for name in by_name if name in files]
    if not present:
        raise EcgFormatError(
            _("The WFDB signal file %(name)s was not uploaded with its header.")
            % {"name": header.signals[0].file_name}
        )
    out = []
    for name in present:
        indices = by_name[name]
        specs = [header.signals[i] for i in indices]
        for spec in specs:
            if spec.fmt not in wfdb_samples.BYTES_PER_SAMPLE:
                raise EcgFormatError(
                    _("WFDB storage format %(fmt)s is not supported.") % {"fmt": spec.fmt}
                )
        if len({spec.fmt for spec in specs}) > 1:
            # One file is written in one format; the WFDB library reads them all as the first.
            raise EcgFormatError(
                _("The WFDB header could not be read: %(reason)s")
                % {"reason": f"the signals of {name} are given different formats"}
            )
        out.append(_File(name, specs[0].fmt, specs[0].byte_offset, tuple(indices)))
    return out


def _length(header: WfdbHeader, first: _File, files: dict[str, bytes]) -> int:
    """Samples per signal: as the header says, else as many whole frames as the first
    uploaded signal file holds (as the WFDB library does)."""
    if header.sig_len is not None:
        return header.sig_len
    data = len(files[first.name]) - first.byte_offset
    per_frame = wfdb_samples.BYTES_PER_SAMPLE[first.fmt] * first.frame_size(header)
    return max(0, int(data / per_frame))


def _check_size(
    header: WfdbHeader, signal_file: _File, files: dict[str, bytes], sig_len: int
) -> None:
    """Refuse a signal file shorter than the header says (wfdb would pad it)."""
    samples = sig_len * signal_file.frame_size(header)
    expected = signal_file.byte_offset + wfdb_samples.bytes_needed(signal_file.fmt, samples)
    size = len(files[signal_file.name])
    if size < expected:
        raise EcgFormatError(
            _(
                "The WFDB signal file %(name)s is truncated: %(size)d bytes of the "
                "%(expected)d its header announces."
            )
            % {"name": signal_file.name, "size": size, "expected": expected},
            details={"file": signal_file.name, "bytes": size, "expected": expected},
        )


def _read_file(
    header: WfdbHeader, signal_file: _File, data: bytes, sig_len: int
) -> dict[int, np.ndarray]:
    """Each signal of one file in physical units (NaN where the file stores "invalid").

    The file is taken to hold ``sig_len`` frames, as wfdb does: a signal skewed by ``k``
    frames starts ``k`` frames in, and its last ``k`` samples lie past the record (NaN,
    which the record's validation refuses).
    """
    width = signal_file.frame_size(header)
    digital = wfdb_samples.decode(
        signal_file.fmt, memoryview(data)[signal_file.byte_offset :], sig_len * width
    ).reshape(sig_len, width)
    invalid = wfdb_samples.INVALID.get(signal_file.fmt)
    out = {}
    column = 0
    for index in signal_file.signals:
        spec = header.signals[index]
        block = digital[:, column : column + spec.samples_per_frame]
        column += spec.samples_per_frame
        if signal_file.fmt == "8":
            block = (np.cumsum(block.reshape(-1)) + spec.init_value).reshape(block.shape)
        values = _physical(spec, block, invalid)
        if spec.skew:
            values = np.concatenate([values[spec.skew :], np.full(min(spec.skew, sig_len), np.nan)])
        out[index] = values
    return out


def _physical(spec: SignalSpec, block: np.ndarray, invalid: int | None) -> np.ndarray:
    # wfdb's arithmetic: frames of several samples averaged to a whole digital value
    # (truncated, as wfdb stores the average in an integer array), then (digital -
    # baseline) / gain in float64.
    if spec.samples_per_frame == 1:
        values = block[:, 0].astype(np.float64)
    else:
        values = np.trunc(np.sum(block, axis=1) / spec.samples_per_frame)
    values = (values - spec.baseline) / spec.gain
    if invalid is not None:
        values[(block == invalid).any(axis=1)] = np.nan
    return values
