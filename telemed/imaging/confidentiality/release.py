"""What a DICOMweb request is about, for a reader outside the network: the UIDs it names
mapped back from pseudonyms, and how each study goes out (as stored, or through the
profile with this reader's pseudonyms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telemed.imaging.confidentiality.disclosure import deidentified_for, outside_recipient
from telemed.imaging.confidentiality.pseudonyms import Pseudonyms, StudyReplacements, originals
from telemed.imaging.models import Pseudonym

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.directory.models import Institution
    from telemed.imaging.models import ImagingStudy


@dataclass(frozen=True)
class Addressed:
    """The study, series and instance UIDs a path names, as stored; ``pseudonymous`` when
    every UID given was one of the reader's pseudonyms."""

    study: str
    series: str
    instance: str
    pseudonymous: bool


class Release:
    """One request's reader: decides per study and keeps the pseudonyms it hands out."""

    def __init__(self, user: User) -> None:
        self.recipient: Institution | None = outside_recipient(user)
        self.pseudonyms = Pseudonyms(self.recipient) if self.recipient is not None else None
        self._deidentified: dict[int, bool] = {}

    @property
    def outside(self) -> bool:
        return self.recipient is not None

    def address(self, study: str, series: str = "", instance: str = "") -> Addressed:
        if self.recipient is None:
            return Addressed(study, series, instance, False)
        given = [uid for uid in (study, series, instance) if uid]
        found = originals(self.recipient, Pseudonym.Kind.UID, given)
        return Addressed(
            found.get(study, study),
            found.get(series, series),
            found.get(instance, instance),
            all(uid in found for uid in given),
        )

    def decide(self, studies: list[ImagingStudy]) -> None:
        """Decide, in one query, for studies about to be answered."""
        todo = [s for s in studies if s.pk not in self._deidentified]
        if not todo:
            return
        hidden = deidentified_for(self.recipient, todo)
        for study in todo:
            self._deidentified[study.pk] = study.pk in hidden

    def deidentifies(self, study: ImagingStudy) -> bool:
        if self.recipient is None:
            return False
        self.decide([study])
        return self._deidentified[study.pk]

    def replacements(self, study: ImagingStudy) -> StudyReplacements | None:
        """The pseudonyms for ``study`` when it goes out de-identified, else None."""
        if self.pseudonyms is None or not self.deidentifies(study):
            return None
        return self.pseudonyms.for_study(study)

    def save(self) -> None:
        if self.pseudonyms is not None:
            self.pseudonyms.save()
