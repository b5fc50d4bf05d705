"""Which remote node an association comes from: the calling AE title mapped to an
institution."""

from __future__ import annotations

from django.db import close_old_connections

from telemed.dicom.models import RemoteNode


def node_for(calling_ae_title: str, address: str) -> RemoteNode | None:
    """The enabled node for this calling AE title and address, or None (reject the caller).

    A node tied to the caller's exact address wins over one that accepts any address.
    Runs in pynetdicom's threads, so it closes stale connections itself.
    """
    title = calling_ae_title.strip()
    if not title:
        return None
    close_old_connections()
    try:
        candidates = list(
            RemoteNode.objects.filter(ae_title=title, enabled=True).select_related("institution")
        )
    finally:
        close_old_connections()
    exact = [node for node in candidates if node.host and node.host == address]
    if exact:
        return exact[0]
    return next((node for node in candidates if not node.host), None)
