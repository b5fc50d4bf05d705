"""The DIMSE listener: C-ECHO, C-STORE (to the app that registered the SOP class) and
C-FIND (study root and patient root), for calling AE titles mapped to institutions.

pynetdicom runs its own threads: one per association, where every handler below runs, so
each handler closes stale database connections first and the association's end closes its
thread's connection for good. Received data sets are spooled to a temporary file by
pynetdicom (``STORE_RECV_CHUNKED_DATASET``), never held whole in memory, and the handler
streams that file into the blob store.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any, cast

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import translation
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, _config, evt
from pynetdicom.association import Association as PynetdicomAssociation
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from telemed.audit import services as audit
from telemed.audit.models import Action, Outcome
from telemed.core import context
from telemed.dicom import find, registry
from telemed.dicom.files import PROCESSING_FAILURE, SOP_CLASS_NOT_SUPPORTED, SUCCESS
from telemed.dicom.find import PATIENT_ROOT_FIND, STUDY_ROOT_FIND
from telemed.dicom.nodes import node_for
from telemed.dicom.registry import Refused

logger = logging.getLogger(__name__)

# pynetdicom reads this module-wide switch when a C-STORE arrives: spool data sets to disk.
_config.STORE_RECV_CHUNKED_DATASET = True
# pynetdicom's own per-message logging costs time on every C-STORE and says nothing that
# our log lines do not.
_config.LOG_HANDLER_LEVEL = "none"

_REJECTED = "\x00rejected"
_ENDED = "_telemed_ended"


class NodeAE(AE):
    """An AE whose accepted calling AE titles are the enabled remote nodes, looked up for
    each association (with the caller's address) instead of a list fixed at start.

    pynetdicom checks ``require_calling_aet`` while negotiating, in the association's own
    thread, before any presentation context is accepted; an unknown caller gets
    A-ASSOCIATE-RJ (rejected-permanent, calling AE title not recognised).
    """

    @property  # type: ignore[misc]
    def require_calling_aet(self) -> list[str]:
        assoc = threading.current_thread()
        if not isinstance(assoc, PynetdicomAssociation):
            return []
        # pynetdicom reads the property twice per negotiation: decide (and audit) once.
        decided: list[str] | None = getattr(assoc, "_telemed_allowed", None)
        if decided is None:
            decided = self._decide(assoc)
            assoc._telemed_allowed = decided  # type: ignore[attr-defined]
        return decided

    def _decide(self, assoc: PynetdicomAssociation) -> list[str]:
        primitive = assoc.requestor.primitive
        calling = str(getattr(primitive, "calling_ae_title", "") or "").strip()
        close_old_connections()
        try:
            node = node_for(calling, assoc.requestor.address)
        except Exception:
            # The directory cannot be read (database down): refuse rather than guess.
            logger.exception("remote node lookup failed; rejecting %r", calling)
            connections.close_all()
            return [_REJECTED]
        if node is None:
            logger.warning(
                "association from %r at %s rejected: calling AE title not recognised",
                calling,
                assoc.requestor.address,
            )
            _audit_rejection(calling, assoc.requestor.address)
            connections.close_all()
            return [_REJECTED]
        assoc.telemed = registry.Association(  # type: ignore[attr-defined]
            key=uuid.uuid4().hex[:16],
            calling_ae_title=calling,
            address=assoc.requestor.address,
            institution=node.institution,
        )
        return [calling]


def _audit_rejection(calling: str, address: str) -> None:
    token = context.set_current(context.RequestMeta(source_ip=address, channel="dicom"))
    try:
        audit.record(
            None,
            Action.LOGIN,
            object_type="dicom_association",
            outcome=Outcome.DENIED,
            actor_name=f"{calling}@{address}",
            detail={"reason": "calling AE title not recognised", "calling_ae_title": calling},
        )
    except Exception:
        logger.exception("could not audit a rejected association")
    finally:
        context.reset(token)


def _association(event: Event) -> registry.Association:
    return cast(registry.Association, event.assoc.telemed)  # type: ignore[attr-defined]


def _meta(association: registry.Association) -> context.RequestMeta:
    return context.RequestMeta(source_ip=association.address, channel="dicom")


def _on_echo(event: Event) -> int:
    return SUCCESS


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        # ErrorComment is LO: 64 characters at most.
        status.ErrorComment = comment[:64]
    return status


def _on_store(event: Event) -> Dataset | int:
    association = _association(event)
    request = cast(C_STORE, event.request)
    sop_class = str(request.AffectedSOPClassUID)
    sop_instance = str(request.AffectedSOPInstanceUID)
    token = context.set_current(_meta(association))
    close_old_connections()
    # Error comments go to the peer as LO (the default repertoire): always in English.
    language = translation.override("en")
    language.__enter__()
    try:
        registration = registry.handler_for(sop_class)
        if registration is None:
            raise Refused(SOP_CLASS_NOT_SUPPORTED, "SOP class not supported")
        registration.handler(
            registry.Received(
                path=event.dataset_path,
                sop_class_uid=sop_class,
                sop_instance_uid=sop_instance,
                transfer_syntax_uid=str(event.context.transfer_syntax),
                association=association,
            )
        )
        return SUCCESS
    except Refused as refusal:
        logger.info(
            "C-STORE from %s refused (0x%04X): %s",
            association.calling_ae_title,
            refusal.status,
            refusal.reason,
        )
        return _status(refusal.status, str(refusal.reason))
    except Exception:
        logger.exception("C-STORE from %s failed", association.calling_ae_title)
        return _status(PROCESSING_FAILURE, "processing failure")
    finally:
        language.__exit__(None, None, None)
        context.reset(token)


def _on_find(event: Event) -> Any:
    association = _association(event)
    token = context.set_current(_meta(association))
    close_old_connections()
    try:
        yield from find.answer(
            association, str(event.request.AffectedSOPClassUID), event.identifier, event
        )
    finally:
        context.reset(token)


def _on_end(event: Event) -> None:
    """Released, aborted or dropped: once per association, in its own thread."""
    assoc = event.assoc
    if getattr(assoc, _ENDED, False) or not hasattr(assoc, "telemed"):
        return
    setattr(assoc, _ENDED, True)
    association = _association(event)
    token = context.set_current(_meta(association))
    try:
        for hook in registry.end_hooks():
            try:
                hook(association)
            except Exception:
                logger.exception("end-of-association hook %r failed", hook)
    finally:
        context.reset(token)
        connections.close_all()


# Verification (C-ECHO).
VERIFICATION = "1.2.840.10008.1.1"

HANDLERS: list[Any] = [
    (evt.EVT_C_ECHO, _on_echo),
    (evt.EVT_C_STORE, _on_store),
    (evt.EVT_C_FIND, _on_find),
    (evt.EVT_RELEASED, _on_end),
    (evt.EVT_ABORTED, _on_end),
]


def build_ae(ae_title: str | None = None) -> NodeAE:
    """The AE with a presentation context for every registered SOP class (any transfer
    syntax: objects are stored as received), Verification and the two C-FIND models."""
    ae = NodeAE(ae_title=ae_title or settings.DICOM_AE_TITLE)
    ae.require_called_aet = False
    ae.maximum_associations = settings.DICOM_MAX_ASSOCIATIONS
    ae.network_timeout = 60
    ae.dimse_timeout = 60
    ae.acse_timeout = 30
    ae.add_supported_context(VERIFICATION)
    ae.add_supported_context(STUDY_ROOT_FIND)
    ae.add_supported_context(PATIENT_ROOT_FIND)
    for sop_class in registry.sop_classes():
        ae.add_supported_context(sop_class, _STORED_AS_SENT)
    return ae


# pynetdicom accepts, of the syntaxes a caller proposes, the first one in this list. Encoded
# (compressed) syntaxes come first, so that a caller offering its file's own JPEG syntax
# next to the uncompressed ones sends the file as it is instead of decoding it for us.
_STORED_AS_SENT = [
    *(ts for ts in ALL_TRANSFER_SYNTAXES if UID(ts).is_encapsulated),
    *(ts for ts in ALL_TRANSFER_SYNTAXES if not UID(ts).is_encapsulated),
]


def start(
    host: str | None = None, port: int | None = None, ae_title: str | None = None
) -> ThreadedAssociationServer:
    """Start listening (in pynetdicom's threads) and return the server; ``port=0`` picks a
    free port (``server.server_address[1]``). Stop it with ``server.shutdown()``."""
    address = (
        host if host is not None else settings.DICOM_BIND_ADDRESS,
        settings.DICOM_PORT if port is None else port,
    )
    ae = build_ae(ae_title)
    server = ae.start_server(address, block=False, evt_handlers=HANDLERS)
    assert isinstance(server, ThreadedAssociationServer)
    logger.info("DICOM listener %s on %s:%s", ae.ae_title, *server.server_address[:2])
    return server


async def serve() -> None:
    """The listener as a task of ``telemed serve``: runs until cancelled, then stops
    accepting and closes the socket."""
    server = await asyncio.to_thread(start)
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.to_thread(server.shutdown)
