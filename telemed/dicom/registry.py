"""Which app handles which SOP class: the DICOM listener hands each stored object to the app
that registered its SOP class (images to imaging, ECG waveforms to ECG, slide images to
pathology).

An app registers from its ``AppConfig.ready``. The listener offers presentation contexts for
the registered SOP classes only, so an object of an unregistered class is refused at
association negotiation (its context is rejected: abstract syntax not supported), and a
C-STORE that still names one answers 0x0122 (SOP class not supported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydicom.uid import UID

if TYPE_CHECKING:
    from telemed.directory.models import Institution


@dataclass
class Association:
    """What a handler knows about the association an object arrived on.

    ``state`` is the handlers' scratch space for the association, keyed by app (imaging
    counts the instances stored per study there, to write one audit event per study and
    association rather than one per instance).
    """

    key: str
    calling_ae_title: str
    address: str
    institution: Institution
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One object as received: a DICOM Part 10 file (preamble, file meta, then the data set
    exactly as the peer encoded it) on local disk, to be streamed, never loaded whole."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    association: Association


class Refused(Exception):
    """A handler refuses an object: the DIMSE failure ``status`` goes back with ``reason``
    as its error comment, and nothing of the object may have been kept."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# A handler stores the object and returns only once it is durable (0x0000 then goes back),
# or raises Refused.
StoreHandler = Callable[[Received], None]
# Called once when an association that stored objects ends (released, aborted or dropped).
AssociationEnded = Callable[[Association], None]


@dataclass(frozen=True)
class Registration:
    handler: StoreHandler
    on_association_end: AssociationEnded | None = None


_handlers: dict[str, Registration] = {}


def register(
    sop_class_uids: Iterable[str],
    handler: StoreHandler,
    *,
    on_association_end: AssociationEnded | None = None,
) -> None:
    """Route C-STOREs of these SOP classes to ``handler``; a later registration of the same
    class replaces the earlier one."""
    registration = Registration(handler, on_association_end)
    for uid in sop_class_uids:
        if not UID(uid).is_valid:
            raise ValueError(f"{uid!r} is not a valid SOP class UID")
        _handlers[str(uid)] = registration


def handler_for(sop_class_uid: str) -> Registration | None:
    return _handlers.get(str(sop_class_uid))


def sop_classes() -> list[str]:
    return sorted(_handlers)


def end_hooks() -> list[AssociationEnded]:
    hooks: list[AssociationEnded] = []
    for registration in _handlers.values():
        hook = registration.on_association_end
        if hook is not None and hook not in hooks:
            hooks.append(hook)
    return hooks
