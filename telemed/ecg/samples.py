"""The compact form of a tracing: little-endian int32 microvolts, lead after lead.

One lead's window is one byte range of the blob, so the viewer's requests read only what
they show. int32 rather than int16: baseline wander and pacing spikes can pass 32 mV.
"""

from __future__ import annotations

import io

import numpy as np

from telemed.storage import services as storage
from telemed.storage.blobstore import get_blob_store
from telemed.storage.models import Blob

DTYPE = np.dtype("<i4")
CONTENT_TYPE = "application/x-telemed-ecg-int32le"
# The longest window one request may ask for (a 30-minute Holter-like record is read in parts).
MAX_WINDOW_S = 60.0


def encode(samples: np.ndarray) -> bytes:
    """Round microvolts to whole numbers and pack them (shape: leads x samples)."""
    info = np.iinfo(DTYPE)
    return np.clip(np.rint(samples), info.min, info.max).astype(DTYPE).tobytes(order="C")


def upload(samples: np.ndarray) -> storage.Upload:
    """The compact form as one of several blobs stored together (``storage.store_many``)."""
    return storage.Upload(io.BytesIO(encode(samples)), CONTENT_TYPE, "samples")


def store(samples: np.ndarray) -> Blob:
    return storage.store(io.BytesIO(encode(samples)), content_type=CONTENT_TYPE, name="samples")


def window(blob_sha256: str, n_leads: int, n_samples: int, start: int, count: int) -> np.ndarray:
    """Samples ``[start, start + count)`` of every lead, shape (n_leads, count'), clamped to
    the record; read lead by lead as byte ranges."""
    start = max(0, min(start, n_samples))
    count = max(0, min(count, n_samples - start))
    out = np.zeros((n_leads, count), dtype=DTYPE)
    if count == 0:
        return out
    backend = get_blob_store()
    size = DTYPE.itemsize
    for lead in range(n_leads):
        first = (lead * n_samples + start) * size
        chunks = backend.iter_chunks(blob_sha256, first, first + count * size)
        out[lead] = np.frombuffer(b"".join(chunks), dtype=DTYPE)
    return out


def read_all(blob_sha256: str, n_leads: int, n_samples: int) -> np.ndarray:
    """The whole tracing, verified against its address (the PDF and the tests)."""
    with get_blob_store().open(blob_sha256) as stream:
        data = stream.read()
    return np.frombuffer(data, dtype=DTYPE).reshape(n_leads, n_samples)
