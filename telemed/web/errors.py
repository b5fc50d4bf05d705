"""Service errors in the reader's language.

Service functions speak English to every caller (the API, the CLI, logs); the pages show the
same facts translated. A message not listed here is shown as the service wrote it.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telemed.core.errors import DomainError

_MESSAGES = {
    # telemed.patients.services and telemed.patients.identifiers, field by field
    "is required": _("This field is required."),
    "is in the future": _("The date is in the future."),
    "must be 17 digits followed by a digit or X": _("Must be 17 digits followed by a digit or X."),
    "check character does not match": _("The check character does not match."),
    "does not encode a valid birth date": _("The number does not encode a valid birth date."),
    "birth date encoded in the number differs from the date of birth": _(
        "The birth date in the number differs from the date of birth."
    ),
    "belongs to another person": _("This number belongs to another person."),
    "already used": _("This record number is already used at your institution."),
    # whole-record messages
    "The patient record is not valid": _("The patient record is not valid."),
    "This resident ID number is registered to a different person": _(
        "This resident ID number is registered to a different person."
    ),
    "This record number is already used at your institution": _(
        "This record number is already used at your institution."
    ),
    "Your role cannot register patients": _("Your role cannot register patients."),
}


def translated(message: str) -> str:
    return str(_MESSAGES.get(message, message))


def apply_to_form(form: forms.Form, error: DomainError) -> None:
    """Put a service error on the form: per field where the service named fields."""
    fields = error.details.get("fields")
    placed = False
    if isinstance(fields, dict):
        for name, problem in fields.items():
            if name in form.fields:
                form.add_error(name, translated(str(problem)))
                placed = True
    if not placed:
        form.add_error(None, translated(error.message))
