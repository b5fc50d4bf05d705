"""WFDB records (PhysioNet): a ``.hea`` header and the signal files it names (``.dat``)."""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

import wfdb
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import build_record, unit_factor
from telemed.ecg.signal.record import EcgRecord

# Bytes per sample of the uncompressed WFDB storage formats; the compressed (FLAC) formats
# are refused, since a truncated file could not be told from a short one before decoding.
_BYTES_PER_SAMPLE = {
    "8": 1.0,
    "80": 1.0,
    "16": 2.0,
    "61": 2.0,
    "160": 2.0,
    "212": 1.5,
    "24": 3.0,
    "32": 4.0,
    "310": 4.0 / 3.0,
    "311": 4.0 / 3.0,
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


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
    with tempfile.TemporaryDirectory(prefix="telemed-wfdb-") as tmp:
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        base = os.path.join(tmp, record_name)
        try:
            header = wfdb.rdheader(base)
        except Exception as exc:  # wfdb raises bare ValueErrors and worse on bad headers
            raise EcgFormatError(
                _("The WFDB header could not be read: %(reason)s") % {"reason": _short(exc)}
            ) from None
        channels = _channels_present(header, files)
        try:
            record = wfdb.rdrecord(base, channels=channels, physical=True)
        except Exception as exc:
            raise EcgFormatError(
                _("The WFDB signal file could not be read: %(reason)s") % {"reason": _short(exc)}
            ) from None
    signal = record.p_signal
    if signal is None or signal.ndim != 2:
        raise EcgFormatError(_("The WFDB record holds no samples."))
    count = signal.shape[1]
    # A header may leave a name or unit out: WFDB's default unit is mV.
    names = [
        str(n) if n else f"channel {i + 1}"
        for i, n in enumerate((list(record.sig_name or []) + [None] * count)[:count])
    ]
    units = [str(u) if u else "mV" for u in (list(record.units or []) + [None] * count)[:count]]
    leads = [signal[:, i] * unit_factor(units[i], lead=names[i]) for i in range(len(names))]
    meta = {"record": record_name, "comments": " | ".join(header.comments or [])[:500]}
    if header.base_date or header.base_time:
        meta["acquired"] = " ".join(str(x) for x in (header.base_date, header.base_time) if x)
    return build_record(
        sampling_rate=float(record.fs),
        leads=names,
        channels=leads,
        source_format="wfdb",
        meta=meta,
    )


def _channels_present(header: wfdb.Record, files: dict[str, bytes]) -> list[int]:
    names = list(header.file_name or [])
    if not names:
        raise EcgFormatError(_("The WFDB header names no signals."))
    for name in set(names):
        if name != os.path.basename(name) or not _SAFE_NAME.match(name):
            raise EcgFormatError(
                _("The WFDB header names the signal file %(name)s, which is not accepted.")
                % {"name": name[:80]}
            )
    present = [i for i, name in enumerate(names) if name in files]
    if not present:
        raise EcgFormatError(
            _("The WFDB signal file %(name)s was not uploaded with its header.")
            % {"name": names[0]}
        )
    _check_lengths(header, files, present)
    return present


def _check_lengths(header: wfdb.Record, files: dict[str, bytes], present: list[int]) -> None:
    """Refuse a signal file shorter than the header says (wfdb would crash or pad)."""
    sig_len = int(header.sig_len or 0)
    fmts = list(header.fmt or [])
    spf = list(header.samps_per_frame or [1] * len(fmts))
    offsets = list(header.byte_offset or [None] * len(fmts))
    by_file: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        by_file.setdefault(name, []).append(i)
    for name, indices in by_file.items():
        if name not in files:
            continue
        for i in indices:
            if str(fmts[i]) not in _BYTES_PER_SAMPLE:
                raise EcgFormatError(
                    _("WFDB storage format %(fmt)s is not supported.") % {"fmt": fmts[i]}
                )
        if sig_len <= 0:
            continue
        per_frame = sum(_BYTES_PER_SAMPLE[str(fmts[i])] * int(spf[i] or 1) for i in indices)
        expected = int(offsets[indices[0]] or 0) + math.floor(sig_len * per_frame)
        if len(files[name]) < expected:
            raise EcgFormatError(
                _(
                    "The WFDB signal file %(name)s is truncated: %(size)d bytes of the "
                    "%(expected)d its header announces."
                )
                % {"name": name, "size": len(files[name]), "expected": expected},
                details={"file": name, "bytes": len(files[name]), "expected": expected},
            )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
