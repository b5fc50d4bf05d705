"""The imaging app at the DICOM border: the store handler for image SOP classes, the C-FIND
provider and the end-of-association audit, registered with telemed.dicom from ready()."""

from __future__ import annotations

from collections.abc import Iterator

from pydicom.dataset import Dataset

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.dicom import find, registry
from telemed.imaging import services
from telemed.imaging.matching import find_identifiers
from telemed.imaging.sop_classes import IMAGE_STORAGE

_STATE = "imaging"


def _sender(association: registry.Association) -> services.Sender:
    sender: services.Sender | None = association.state.get(_STATE)
    if sender is None:
        sender = services.Sender(
            institution=association.institution,
            calling_ae_title=association.calling_ae_title,
            address=association.address,
            batch=f"dicom:{association.key}",
        )
        association.state[_STATE] = sender
    return sender


def store(received: registry.Received) -> None:
    services.ingest(
        received.path,
        _sender(received.association),
        sop_class_uid=received.sop_class_uid,
        sop_instance_uid=received.sop_instance_uid,
    )


def association_ended(association: registry.Association) -> None:
    sender = association.state.get(_STATE)
    if sender is not None:
        services.close_batch(sender)


def find_in_index(
    association: registry.Association, level: str, identifier: Dataset
) -> Iterator[Dataset]:
    """C-FIND answers: only the calling institution's own studies. One audit event per
    query, with the number of matches sent."""
    sent = 0
    try:
        for match in find_identifiers(association.institution, level, identifier):
            sent += 1
            yield match
    finally:
        audit.record(
            None,
            Action.SEARCH,
            object_type=f"imaging_{level.lower()}",
            actor_name=f"{association.calling_ae_title}@{association.address}",
            detail={
                "received": "dicom",
                "institution": association.institution.code,
                "keys": sorted(e.keyword for e in identifier if e.keyword)[:30],
                "results": sent,
            },
        )


def connect() -> None:
    registry.register(IMAGE_STORAGE, store, on_association_end=association_ended)
    find.register_provider(find_in_index)
