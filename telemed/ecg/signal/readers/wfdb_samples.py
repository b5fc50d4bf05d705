"""The uncompressed WFDB storage formats (PhysioNet's signal(5)), decoded from bytes with numpy.

Each decoder turns the first ``count`` samples of a signal file's data (after its byte
offset) into int64 digital values, samples of all the file's signals interleaved frame by
frame as written. The compressed (FLAC) formats 508/516/524 are not here: a truncated one
could not be told from a short one before decoding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Bytes per sample, for the size a header announces.
BYTES_PER_SAMPLE = {
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
#: The value a format stores for "no sample here" (read as NaN, as the WFDB library does).
#: Format 8 (first differences) has none.
INVALID = {
    "80": -(2**7),
    "310": -(2**9),
    "311": -(2**9),
    "212": -(2**11),
    "16": -(2**15),
    "61": -(2**15),
    "160": -(2**15),
    "24": -(2**23),
    "32": -(2**31),
}


def bytes_needed(fmt: str, count: int) -> int:
    """The bytes that hold ``count`` samples: a packed format's last partial group counts
    up to the byte holding its last bit."""
    if fmt == "212":
        return 3 * (count // 2) + 2 * (count % 2)
    if fmt == "310":
        return 4 * (count // 3) + (0, 2, 4)[count % 3]
    if fmt == "311":
        return 4 * (count // 3) + (0, 2, 3)[count % 3]
    return int(BYTES_PER_SAMPLE[fmt]) * count


def decode(fmt: str, data: bytes | memoryview, count: int) -> np.ndarray:
    """``count`` digital samples of format ``fmt`` from ``data`` (which holds at least
    ``bytes_needed(fmt, count)`` bytes), as int64."""
    return _DECODERS[fmt](memoryview(data)[: bytes_needed(fmt, count)], count)


def _plain(dtype: str, shift: int = 0) -> Callable[[memoryview, int], np.ndarray]:
    def read(data: memoryview, count: int) -> np.ndarray:
        values = np.frombuffer(data, dtype=dtype, count=count).astype(np.int64)
        return values - shift if shift else values

    return read


def _groups(data: memoryview, size: int, count: int, group: int) -> np.ndarray:
    """The bytes as rows of ``size`` (a packed group of ``group`` samples), the last partial
    group padded with zero bytes."""
    rows = -(-count // group)
    padded = np.zeros(rows * size, dtype=np.uint8)
    padded[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return padded.reshape(rows, size).astype(np.int64)


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)


def _format_212(data: memoryview, count: int) -> np.ndarray:
    # Two 12-bit samples in three bytes: the first in byte 0 and the low nibble of byte 1,
    # the second in byte 2 and the high nibble of byte 1.
    b = _groups(data, 3, count, 2)
    pairs = np.stack([b[:, 0] | (b[:, 1] & 0x0F) << 8, b[:, 2] | (b[:, 1] & 0xF0) << 4], axis=1)
    return _signed(pairs.reshape(-1)[:count], 12)


def _format_310(data: memoryview, count: int) -> np.ndarray:
    # Three 10-bit samples in two little-endian 16-bit words: bits 1-10 of each word are the
    # first and second; bits 11-15 of the first word and then of the second, the third.
    b = _groups(data, 4, count, 3)
    w0 = b[:, 0] | b[:, 1] << 8
    w1 = b[:, 2] | b[:, 3] << 8
    triples = np.stack([(w0 >> 1) & 0x3FF, (w1 >> 1) & 0x3FF, (w0 >> 11) | (w1 >> 11) << 5], axis=1)
    return _signed(triples.reshape(-1)[:count], 10)


def _format_311(data: memoryview, count: int) -> np.ndarray:
    # Three 10-bit samples in one little-endian 32-bit word, bits 0-9, 10-19 and 20-29.
    b = _groups(data, 4, count, 3)
    word = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16 | b[:, 3] << 24
    triples = np.stack([word & 0x3FF, (word >> 10) & 0x3FF, (word >> 20) & 0x3FF], axis=1)
    return _signed(triples.reshape(-1)[:count], 10)


def _format_24(data: memoryview, count: int) -> np.ndarray:
    b = _groups(data, 3, count, 1)
    return _signed(b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16, 24)


_DECODERS: dict[str, Callable[[memoryview, int], np.ndarray]] = {
    # Format 8 holds first differences; the reader sums them from each signal's initial value.
    "8": _plain("i1"),
    "80": _plain("u1", 128),
    "16": _plain("<i2"),
    "61": _plain(">i2"),
    "160": _plain("<u2", 32768),
    "24": _format_24,
    "32": _plain("<i4"),
    "212": _format_212,
    "310": _format_310,
    "311": _format_311,
}
