"""Test streams that produce content on the fly, so big inputs never exist in memory."""

from __future__ import annotations

import hashlib
import io
import random


class GeneratedStream(io.RawIOBase):
    """``size`` bytes of deterministic pseudo-random content, generated as it is read.

    Each 1 MiB block is a fixed random block stamped with its index, so every block differs
    and the expected digest can be computed without keeping the content.
    """

    BLOCK = 1024 * 1024

    def __init__(self, size: int, seed: int = 0) -> None:
        super().__init__()
        self.size = size
        self._block = random.Random(seed).randbytes(self.BLOCK)
        self._pos = 0

    def _chunk(self, index: int, length: int) -> bytes:
        stamped = index.to_bytes(8, "big") + self._block[8:]
        return stamped[:length]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._pos < self.size:
            index, offset = divmod(self._pos, self.BLOCK)
            take = min(len(view) - written, self.BLOCK - offset, self.size - self._pos)
            view[written : written + take] = self._chunk(index, offset + take)[offset:]
            written += take
            self._pos += take
        return written

    def expected(self) -> tuple[str, int]:
        digest = hashlib.sha256()
        for index in range(0, -(-self.size // self.BLOCK)):
            length = min(self.BLOCK, self.size - index * self.BLOCK)
            digest.update(self._chunk(index, length))
        return digest.hexdigest(), self.size
