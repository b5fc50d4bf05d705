"""Test helpers for the DICOM border: a remote node, and the listener on a free loopback
port for the length of a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from telemed.dicom import listener
from telemed.dicom.models import RemoteNode
from telemed.directory.models import Institution


def make_node(ae_title: str, institution: Institution, **extra: object) -> RemoteNode:
    return RemoteNode.objects.create(ae_title=ae_title, institution=institution, **extra)


@contextmanager
def running_listener(ae_title: str = "TELEMED") -> Iterator[int]:
    """Listen on 127.0.0.1 and a port the OS picks; yield the port; stop on exit."""
    server = listener.start("127.0.0.1", 0, ae_title)
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
