"""Consistent pseudonyms per recipient institution, and the way back.

A replacement UID is ``2.25.<n>``, where ``n`` is a UUID made from the HMAC-SHA256 of the
original UID under a key of the recipient institution (itself an HMAC of the platform's
secret): the same original always gives the same replacement for the same recipient, two
recipients get unrelated ones, and references between objects (a series' Frame of Reference,
a key object's referenced images) stay consistent because each UID is replaced on its own.
The patient's pseudonymous ID and name come the same way from the patient's key (the master
patient index record when the study is linked to one, else the sending institution and the
ID it sent).

An HMAC cannot be reversed, so each pseudonym that goes out is written to ``Pseudonym``
(once) and the DICOMweb routes look the UIDs they are given up there.

The secret is ``settings.IMAGING_PSEUDONYM_SECRET``, derived from ``SECRET_KEY`` when unset;
changing it changes every pseudonym issued afterwards (those issued before still resolve).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from telemed.imaging.models import Pseudonym

if TYPE_CHECKING:
    from telemed.directory.models import Institution
    from telemed.imaging.models import ImagingStudy

_BATCH = 500


def _secret() -> bytes:
    configured = getattr(settings, "IMAGING_PSEUDONYM_SECRET", "")
    if configured:
        return str(configured).encode()
    return hmac.new(
        str(settings.SECRET_KEY).encode(), b"telemed.imaging.pseudonyms", hashlib.sha256
    ).digest()


def patient_key(study: ImagingStudy) -> str:
    if study.patient_id is not None:
        return f"mpi:{study.patient_id}"
    return f"{study.institution_id}:{study.patient_dicom_id}"


class Pseudonyms:
    """The pseudonyms of one recipient institution; remembers what it issued until
    ``save``."""

    def __init__(self, recipient: Institution) -> None:
        self.recipient = recipient
        self._key = hmac.new(_secret(), f"institution:{recipient.pk}".encode(), hashlib.sha256)
        self._uids: dict[str, str] = {}
        self._patients: dict[str, str] = {}
        self._issued: dict[tuple[str, str], str] = {}

    def _digest(self, text: str) -> bytes:
        mac = self._key.copy()
        mac.update(text.encode())
        return mac.digest()

    def uid(self, original: str) -> str:
        replaced = self._uids.get(original)
        if replaced is None:
            number = uuid.UUID(bytes=self._digest(f"uid:{original}")[:16], version=4).int
            replaced = self._uids[original] = f"2.25.{number}"
            self._issued[(Pseudonym.Kind.UID, replaced)] = original
        return replaced

    def patient_id(self, key: str) -> str:
        code = self._patients.get(key)
        if code is None:
            digest = self._digest(f"patient:{key}")[:10]
            code = "ANON-" + base64.b32encode(digest).decode().rstrip("=")
            self._patients[key] = code
            self._issued[(Pseudonym.Kind.PATIENT, code)] = key
        return code

    def for_study(self, study: ImagingStudy) -> StudyReplacements:
        code = self.patient_id(patient_key(study))
        return StudyReplacements(self, code, patient_name(code))

    def save(self) -> None:
        """Write the pseudonyms issued since the last save that are not in the table yet."""
        issued, self._issued = self._issued, {}
        items = list(issued.items())
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            known = set(
                Pseudonym.objects.filter(
                    recipient=self.recipient, value__in=[value for (_k, value), _o in batch]
                ).values_list("kind", "value")
            )
            Pseudonym.objects.bulk_create(
                [
                    Pseudonym(recipient=self.recipient, kind=kind, value=value, original=original)
                    for (kind, value), original in batch
                    if (kind, value) not in known
                ],
                ignore_conflicts=True,
            )


def patient_name(code: str) -> str:
    # PN: family^given; the code in the given name keeps the pseudonym readable in viewers.
    return f"ANONYMOUS^{code}"


@dataclass(frozen=True)
class StudyReplacements:
    """What the profile replaces in one study's objects."""

    pseudonyms: Pseudonyms
    patient_id: str
    patient_name: str

    def uid(self, original: str) -> str:
        return self.pseudonyms.uid(original)


def originals(recipient: Institution, kind: str, values: Iterable[str]) -> dict[str, str]:
    """What the given pseudonyms of ``recipient`` stand for (unknown ones are left out)."""
    wanted = sorted({v for v in values if v})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _BATCH):
        found.update(
            Pseudonym.objects.filter(
                recipient=recipient, kind=kind, value__in=wanted[start : start + _BATCH]
            ).values_list("value", "original")
        )
    return found
