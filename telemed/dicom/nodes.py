"""Which remote node an association comes from: the calling AE title mapped to an
institution."""

from __future__ import annotations

from telemed.dicom.models import RemoteNode


def node_for(calling_ae_title: str, address: str) -> RemoteNode | None:
    """The enabled node for this calling AE title and address, or None (reject the caller).

    A node tied to the caller's exact address wins over one that accepts any address.
    """
    title = calling_ae_title.strip()
    if not title:
        return None
    candidates = list(
        RemoteNode.objects.filter(ae_title=title, enabled=True).select_related("institution")
    )
    exact = [node for node in candidates if node.host and node.host == address]
    if exact:
        return exact[0]
    return next((node for node in candidates if not node.host), None)
