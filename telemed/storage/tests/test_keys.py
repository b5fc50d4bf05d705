"""Keys are validated before any path or object name exists: nothing from a caller steers
where bytes are read or written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from telemed.storage.base import BlobStore
from telemed.storage.errors import InvalidKey
from telemed.storage.keys import object_name, validate_key
from telemed.storage.local import LocalBackend

GOOD = "ab" * 32

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    "",
    "objects/ab/cd/" + GOOD,
    GOOD.upper(),
    "AB" + GOOD[2:],
    GOOD[:-1],
    GOOD + "0",
    GOOD + "\n",
    GOOD[:-1] + "\x00",
    "\x00" + GOOD[1:],
    GOOD[:-1] + "g",
    "../" + GOOD[3:],
    GOOD[:62] + "/.",
    "０" * 64,  # full-width digits: str.isdigit() would say yes
    " " + GOOD[1:],
    None,
    b"ab" * 32,
    int("1" * 64, 16),
]


@pytest.mark.parametrize("key", HOSTILE, ids=repr)
def test_validate_key_refuses(key: object) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)


def test_validate_key_accepts_a_digest() -> None:
    assert validate_key(GOOD) == GOOD
    assert object_name(GOOD) == f"objects/ab/ab/{GOOD}"


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", GOOD.upper(), GOOD + "\x00"])
def test_every_store_method_refuses(store: BlobStore, key: str) -> None:
    for call in (
        lambda: store.open(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.delete(key),
        lambda: store.iter_chunks(key),
        lambda: store.verify(key),
        lambda: store.check(key),
        lambda: store.put(io.BytesIO(b"x"), expected_sha256=key),
    ):
        with pytest.raises(InvalidKey):
            call()


def test_local_paths_stay_under_the_root(tmp_path: Path) -> None:
    store = LocalBackend(tmp_path / "root")
    path = store.path(store.root, GOOD)
    assert path == tmp_path / "root" / "objects" / "ab" / "ab" / GOOD
    with pytest.raises(InvalidKey):
        store.path(store.root, "../../../../tmp/x")
    # Nothing was created outside the root by any refused call.
    assert sorted(p.name for p in tmp_path.iterdir()) == []
