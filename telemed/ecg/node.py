"""The ECG app at the DICOM border: the store handler for the ECG waveform SOP classes the
reader takes (12-lead, General and Ambulatory ECG), registered with ``telemed.dicom`` from
``ready()``. C-STORE from the listener and STOW-RS (``imaging/dicomweb/stow.py`` routes the
registered non-image classes here) end in ``dicom_intake.receive``.

Who acts, decided: a STOW-RS request acts as its caller (a hospital system's token or a
signed-in doctor), whom stow.py puts in the association's ``state["user"]``. A DICOM node
has no account of its own, so the nodes of an institution act as one role=system account
of that institution (``dicom-<institution code>``, created on first use, no usable
password), as an HL7 member system acts as its ``service_user``: the node meets the same
scope and the same rules as the institution's staff, and the audit trail names the
account, with the node's AE title and address in the submission's detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.dicom import registry
from telemed.dicom.files import PROCESSING_FAILURE
from telemed.dicom.nodes import node_for
from telemed.ecg import dicom_intake
from telemed.ecg.signal.readers.dicom_format import ECG_SOP_CLASSES

if TYPE_CHECKING:
    from telemed.directory.models import Institution

#: What the ECG app takes at the DICOM border: every waveform class the reader reads.
WAVEFORM_SOP_CLASSES = tuple(sorted(ECG_SOP_CLASSES))
# The association's state key of a STOW-RS caller (set by imaging/dicomweb/stow.py).
DICOMWEB_USER = "user"
_ACCOUNT = "ecg_account"
_REGISTERS = "ecg_registers_patients"


def sender_account(institution: Institution) -> User:
    """The account the DICOM nodes of ``institution`` act as, created on first use."""
    user, created = User.objects.get_or_create(
        username=f"dicom-{institution.code.lower()}"[:150],
        defaults={
            "role": Role.SYSTEM,
            "institution": institution,
            "password": make_password(None),
        },
    )
    if user.role != Role.SYSTEM or user.institution_id != institution.pk:
        # Someone took the name for another account: never act as it.
        raise registry.Refused(
            PROCESSING_FAILURE, gettext("The node's service account is misconfigured.")
        )
    if created:
        audit.record(
            None,
            Action.ADMIN,
            object_type="user",
            object_id=user.pk,
            actor_name="dicom",
            detail={"service_account": user.username, "institution": institution.code},
        )
    return user


def _sent(association: registry.Association) -> dicom_intake.Sent:
    caller = association.state.get(DICOMWEB_USER)
    if isinstance(caller, User):
        return dicom_intake.Sent(caller, "dicomweb", caller.get_username())
    account = association.state.get(_ACCOUNT)
    if not isinstance(account, User):
        account = sender_account(association.institution)
        association.state[_ACCOUNT] = account
        node = node_for(association.calling_ae_title, association.address)
        association.state[_REGISTERS] = bool(node and node.registers_patients)
    return dicom_intake.Sent(
        account,
        "dicom",
        f"{association.calling_ae_title}@{association.address}",
        registers_patients=bool(association.state.get(_REGISTERS)),
    )


def store(received: registry.Received) -> None:
    dicom_intake.receive(
        received.path,
        _sent(received.association),
        sop_class_uid=received.sop_class_uid,
        sop_instance_uid=received.sop_instance_uid,
    )


def connect() -> None:
    registry.register(WAVEFORM_SOP_CLASSES, store)
