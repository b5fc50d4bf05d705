"""Per-kind step policies: which workflow steps a kind of case uses, and its QC checklist.

One engine serves every kind. A kind registers a ``KindPolicy`` from its own app (imaging:
QC checks the study; ECG: no QC, no triage, claimed from a pool); the engine asks the
policy, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str | Promise
    required: bool = True


@dataclass(frozen=True)
class AutomaticCheck:
    """A check the platform runs itself and shows next to the checklist (imaging: tags,
    pixel data decodes, patient matches)."""

    code: str
    label: str | Promise
    run: Callable[[Consultation], tuple[bool, str]]


@dataclass(frozen=True)
class KindPolicy:
    kind: str
    uses_quality_control: bool = True
    uses_triage: bool = True
    checklist: tuple[ChecklistItem, ...] = ()
    automatic_checks: tuple[AutomaticCheck, ...] = field(default_factory=tuple)
    # Default session length when scheduling, in minutes.
    session_minutes: int = 30
    # Claimed from a resource pool by an on-duty expert instead of triaged (ECG): the
    # ``claim`` and ``release`` steps. ``may_claim`` says whether an expert is on duty in
    # the case's pool now; the engine calls it with the case's row locked.
    uses_pool: bool = False
    may_claim: Callable[[User, Consultation], bool] | None = None
    # The kind arrives through an intake of its own (an ECG upload, a device) rather than the
    # consultation request form, which then does not offer it.
    own_intake: bool = False
    # The kind's own pages for writing and amending its signed report (URL names taking the
    # consultation id: an imaging report has technique, findings and impression); the case
    # page's sign and amend buttons lead there, and the generic conclusion form sends there.
    report_page: str = ""
    amend_page: str = ""

    def sign_url(self, consultation_id: int, *, amending: bool = False) -> str:
        from django.urls import reverse

        own = self.amend_page if amending else self.report_page
        generic = "consultations:amend" if amending else "consultations:conclude"
        return reverse(own or generic, args=[consultation_id])


_policies: dict[str, KindPolicy] = {}


def register(policy: KindPolicy) -> None:
    _policies[policy.kind] = policy


def policy_for(kind: str) -> KindPolicy:
    try:
        return _policies[kind]
    except KeyError:
        raise LookupError(f"no step policy registered for consultation kind {kind!r}") from None


def registered_kinds() -> list[str]:
    return sorted(_policies)


def requestable_kinds() -> list[str]:
    """The kinds the consultation request form offers, the multidisciplinary first."""
    kinds = [kind for kind in sorted(_policies) if not _policies[kind].own_intake]
    return sorted(kinds, key=lambda kind: kind != "multidisciplinary")
