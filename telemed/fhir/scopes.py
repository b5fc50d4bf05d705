"""SMART-style scopes on the FHIR API: which interactions an API client may use per type.

Grammar (SMART App Launch 2, with the 1.0 forms still accepted):
``system/<Type or *>.<letters>`` where the letters are a subset of ``cruds`` in that order
(create, read, update, delete, search), or ``read`` (= rs), ``write`` (= cud), ``*`` (= cruds).
A signed-in person is not a SMART client: their role and scope decide, as on the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from telemed.fhir.errors import FhirError

# The letter each interaction needs.
LETTER = {
    "read": "r",
    "vread": "r",
    "search-type": "s",
    "create": "c",
    "update": "u",
    "delete": "d",
}
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<what>[cruds]+|read|write|\*)$")


class InvalidScope(ValueError):
    pass


@dataclass(frozen=True)
class Grants:
    """What a client may do: resource type (or ``*``) -> the letters granted."""

    by_type: dict[str, frozenset[str]]

    def allows(self, resource_type: str, interaction: str) -> bool:
        letter = LETTER[interaction]
        return letter in self.by_type.get(resource_type, frozenset()) or letter in self.by_type.get(
            "*", frozenset()
        )


def parse(text: str) -> Grants:
    """Parse a space-separated list; InvalidScope names the first one not understood."""
    by_type: dict[str, set[str]] = {}
    for scope in text.split():
        match = _SCOPE.match(scope)
        if match is None:
            raise InvalidScope(scope)
        what = match["what"]
        letters = _V1.get(what, what)
        if what not in _V1 and "".join(c for c in "cruds" if c in letters) != letters:
            raise InvalidScope(scope)  # v2 letters must come in the order c, r, u, d, s
        by_type.setdefault(match["type"], set()).update(letters)
    return Grants({key: frozenset(value) for key, value in by_type.items()})


NONE = Grants({})


def require(grants: Grants | None, resource_type: str, interaction: str) -> None:
    """Raise 403 unless the client's grants allow ``interaction`` on ``resource_type``.
    ``grants`` None means a signed-in person, to whom SMART scopes do not apply."""
    if grants is None or grants.allows(resource_type, interaction):
        return
    needed = f"system/{resource_type}.{LETTER[interaction]}"
    raise FhirError(
        403,
        "forbidden",
        _("This client has not been granted the scope %(scope)s") % {"scope": needed},
    )
