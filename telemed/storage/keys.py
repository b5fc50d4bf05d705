"""Blob keys: the only thing from outside that ever becomes part of a storage path.

A key is validated as exactly 64 lowercase hex characters *before* any path or object name
is built from it, so no caller input (a file name, a URL segment) can steer a path:
``../../etc/passwd``, absolute paths, NUL bytes and the like are refused here.
"""

from __future__ import annotations

import re

from telemed.storage.errors import InvalidKey

# fullmatch, not ``$``: ``$`` would accept a trailing newline.
_KEY = re.compile(r"[0-9a-f]{64}")


def validate_key(sha256: object) -> str:
    """Return ``sha256`` if it is a well-formed key, else raise ``InvalidKey``."""
    if not isinstance(sha256, str) or _KEY.fullmatch(sha256) is None:
        raise InvalidKey("a blob key is a SHA-256 digest: 64 lowercase hexadecimal characters")
    return sha256


def shard_parts(sha256: str) -> tuple[str, str, str]:
    """``ab/cd/<sha256>``: two levels of 256 fan-out keep directories small."""
    key = validate_key(sha256)
    return key[:2], key[2:4], key


def object_name(sha256: str, prefix: str = "objects") -> str:
    """The object name (S3 key) of a blob: ``objects/ab/cd/<sha256>``."""
    return "/".join((prefix, *shard_parts(sha256)))
