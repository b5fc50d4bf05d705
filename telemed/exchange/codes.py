"""Code mapping at the border: each institution's local codes for diagnoses, tests, drugs and
units, mapped to ICD-10, LOINC, the drug code list and UCUM (with unit conversion).

``translate`` is called by the message handlers for every coded element they take in. A
code with a mapping comes back standard. A code without one is queued (``UnmappedCode``,
once per institution and code, counting how often it is seen) and comes back as None; the
caller keeps the local code and name as text on what it writes, so nothing is dropped, and
an operator maps the code (``map_code``), which resolves the queue entry for next time.

A code sent already in the standard system (HL7 coding system ``I10``/``ICD10``, ``LN``,
``UCUM``) needs no mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from telemed.accounts.models import User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core import clock
from telemed.core.errors import PermissionDenied, ValidationFailed
from telemed.directory.models import Institution
from telemed.exchange.models import CodeKind, CodeMapping, UnmappedCode

# The HL7 coding-system names (table 0396) that already are the standard for a kind.
STANDARD_SYSTEMS = {
    CodeKind.DIAGNOSIS: frozenset({"I10", "ICD10", "ICD-10"}),
    CodeKind.TEST: frozenset({"LN", "LOINC"}),
    CodeKind.UNIT: frozenset({"UCUM"}),
    CodeKind.DRUG: frozenset({"TMDRUG"}),
}
SHAPES = {
    CodeKind.DIAGNOSIS: re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$"),
    CodeKind.TEST: re.compile(r"^\d{1,7}-\d$"),
    CodeKind.UNIT: re.compile(r"^[!-~]{1,40}$"),  # printable ASCII, no spaces
    CodeKind.DRUG: re.compile(r"^[0-9A-Za-z.\-]{1,40}$"),
}
MAPPING_ROLES = frozenset({"administrator", "quality_control"})


@dataclass(frozen=True)
class Standard:
    code: str
    name: str
    factor: float = 1.0
    offset: float = 0.0

    def convert(self, value: float) -> float:
        """A value in the local unit, in the standard unit."""
        return value * self.factor + self.offset


def translate(
    institution: Institution,
    kind: str,
    code: str,
    name: str = "",
    *,
    system: str = "",
    seen_in: str = "",
) -> Standard | None:
    """The standard code for a local one, or None after queueing it for an operator."""
    code = code.strip()[:100]  # the longest local code kept; longer ones match by prefix
    if not code:
        return None
    if system.strip().upper() in STANDARD_SYSTEMS[CodeKind(kind)]:
        return Standard(code, name)
    mapping = CodeMapping.objects.filter(
        institution=institution, kind=kind, local_code=code
    ).first()
    if mapping is not None:
        return Standard(
            mapping.standard_code, mapping.standard_name, mapping.factor, mapping.offset
        )
    _queue(institution, kind, code, name, seen_in)
    return None


def _queue(institution: Institution, kind: str, code: str, name: str, seen_in: str) -> None:
    moment = clock.now()
    # A resolved entry seen again has lost its mapping (deleted): it is queued again.
    updated = UnmappedCode.objects.filter(
        institution=institution, kind=kind, local_code=code
    ).update(times_seen=F("times_seen") + 1, last_seen=moment, resolved_at=None, mapping=None)
    if updated:
        return
    try:
        with transaction.atomic():
            UnmappedCode.objects.create(
                institution=institution,
                kind=kind,
                local_code=code[:100],
                local_name=name[:200],
                example=seen_in[:200],
                first_seen=moment,
                last_seen=moment,
            )
    except IntegrityError:
        # Queued at the same moment by another message: count this sighting on it.
        UnmappedCode.objects.filter(institution=institution, kind=kind, local_code=code).update(
            times_seen=F("times_seen") + 1, last_seen=moment
        )


def map_code(
    actor: User,
    institution: Institution,
    kind: str,
    local_code: str,
    standard_code: str,
    standard_name: str = "",
    *,
    local_name: str = "",
    factor: float = 1.0,
    offset: float = 0.0,
) -> CodeMapping:
    """Record (or change) what a local code means, and resolve its queue entry."""
    if actor.role not in MAPPING_ROLES and not actor.is_superuser:
        audit.denied(
            actor, Action.ADMIN, object_type="code_mapping", reason="role cannot map codes"
        )
        raise PermissionDenied(_("Your role cannot map codes"))
    local_code, standard_code = local_code.strip(), standard_code.strip()
    problems = check(kind, local_code, standard_code, factor, offset)
    if problems:
        raise ValidationFailed(_("The code mapping is not valid"), details={"fields": problems})
    with transaction.atomic():
        mapping, _created = CodeMapping.objects.update_or_create(
            institution=institution,
            kind=kind,
            local_code=local_code,
            defaults={
                "local_name": local_name,
                "standard_code": standard_code,
                "standard_name": standard_name,
                "factor": factor,
                "offset": offset,
            },
        )
        UnmappedCode.objects.filter(
            institution=institution, kind=kind, local_code=local_code, resolved_at__isnull=True
        ).update(mapping=mapping, resolved_at=clock.now())
        audit.record(
            actor,
            Action.ADMIN,
            object_type="code_mapping",
            object_id=mapping.pk,
            detail={
                "institution": institution.code,
                "kind": kind,
                "local": local_code,
                "standard": standard_code,
            },
        )
    return mapping


def check(
    kind: str, local_code: str, standard_code: str, factor: float, offset: float
) -> dict[str, str]:
    """What is wrong with a mapping, by field (empty when it is valid)."""
    errors: dict[str, str] = {}
    if kind not in CodeKind.values:
        errors["kind"] = _("unknown kind")
    if not local_code.strip():
        errors["local_code"] = _("is required")
    if kind in CodeKind.values and not SHAPES[CodeKind(kind)].match(standard_code.strip()):
        errors["standard_code"] = _("is not a valid %(standard)s code") % {
            "standard": CodeKind(kind).label
        }
    if kind != CodeKind.UNIT and (factor != 1.0 or offset != 0.0):
        errors["factor"] = _("only units are converted")
    if factor == 0:
        errors["factor"] = _("must not be zero")
    return errors


def open_queue(institution: Institution | None = None) -> list[UnmappedCode]:
    """Codes waiting for an operator, the most often seen first."""
    queue = UnmappedCode.objects.filter(resolved_at__isnull=True).select_related("institution")
    if institution is not None:
        queue = queue.filter(institution=institution)
    return list(queue.order_by("-times_seen", "-last_seen"))
