"""Writes of the FHIR facade's own tables: the SMART scopes granted to an API client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from oauth2_provider.models import Application

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core import clock
from telemed.core.errors import NotFound, ValidationFailed
from telemed.fhir import scopes
from telemed.fhir.models import ClientScopes

if TYPE_CHECKING:
    from telemed.accounts.models import User


def grant_scopes(client_id: str, text: str, *, granted_by: User | None = None) -> ClientScopes:
    """Set the SMART scopes of the API client ``client_id`` (replacing what it held)."""
    application = Application.objects.filter(client_id=client_id).first()
    if application is None or not hasattr(application, "telemed_client"):
        raise NotFound(_("No API client with this client ID"))
    try:
        scopes.parse(text)
    except scopes.InvalidScope as error:
        raise ValidationFailed(
            _("%(scope)s is not a SMART system scope") % {"scope": str(error)}
        ) from None
    normalised = " ".join(sorted(set(text.split())))
    with transaction.atomic():
        granted, _created = ClientScopes.objects.update_or_create(
            application=application, defaults={"scopes": normalised, "updated_at": clock.now()}
        )
        audit.record(
            granted_by,
            Action.ADMIN,
            object_type="api_client",
            object_id=client_id,
            detail={"fhir_scopes": normalised},
            actor_name="cli",
        )
    return granted
