"""Property: any byte string goes in and comes back out unchanged, under its SHA-256."""

from __future__ import annotations

import hashlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemed.storage.base import BlobStore

# The store fixture is shared by all examples on purpose: content addressing makes that
# sound (equal inputs are the same blob), and it exercises dedup across examples too.
_SHARED_FIXTURE = [HealthCheck.function_scoped_fixture]


@settings(max_examples=40, deadline=None, suppress_health_check=_SHARED_FIXTURE)
@given(
    data=st.binary(max_size=3 * 1024 * 1024) | st.binary(max_size=64),
    cut=st.tuples(st.integers(0, 4096), st.integers(0, 4096)),
)
def test_round_trip_of_arbitrary_bytes(store: BlobStore, data: bytes, cut: tuple[int, int]) -> None:
    ref = store.put(io.BytesIO(data))
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    with store.open(ref.sha256) as stream:
        assert stream.read() == data
    start, end = sorted(cut)
    assert b"".join(store.iter_chunks(ref.sha256, start, end)) == data[start:end]
