"""Every write of the exchange hub's configuration; the message log and the outbox are
written by ``inbound`` and ``outbound``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import Conflict, NotFound, ValidationFailed
from telemed.directory.models import Institution
from telemed.exchange import outbound, transports
from telemed.exchange.models import MemberSystem, Subscription, Transport


def create_member_system(
    institution_code: str,
    *,
    name: str,
    sending_application: str,
    sending_facility: str,
    accepts_orders: bool = False,
    submit_orders: bool = False,
    created_by: User | None = None,
) -> MemberSystem:
    """Map an HL7 sender (MSH-3, MSH-4) to an institution, with a new role=system user of
    that institution for it to act as."""
    institution = Institution.objects.filter(code=institution_code).first()
    if institution is None:
        raise NotFound(_("No institution with code %(code)s") % {"code": institution_code})
    application, facility = sending_application.strip(), sending_facility.strip()
    if not application or not facility:
        raise ValidationFailed(
            _("The sending application and facility are required"),
            details={"fields": {"sending_application": application, "sending_facility": facility}},
        )
    try:
        with transaction.atomic():
            system = MemberSystem.objects.create(
                name=name,
                institution=institution,
                service_user=service_user_for(institution),
                sending_application=application,
                sending_facility=facility,
                accepts_orders=accepts_orders,
                submit_orders=submit_orders,
            )
            audit.record(
                created_by,
                Action.ADMIN,
                object_type="member_system",
                object_id=system.pk,
                detail={"institution": institution.code, "sender": f"{application}/{facility}"},
                actor_name="" if created_by else "cli",
            )
    except IntegrityError:
        raise Conflict(
            _("This sending application and facility are already mapped"),
        ) from None
    return system


def service_user_for(institution: Institution) -> User:
    """A new role=system account of ``institution`` for a member system to act as; it
    cannot sign in (no usable password)."""
    user = User.objects.create(
        username=f"hl7-{institution.code.lower()}-{secrets.token_hex(4)}",
        role=Role.SYSTEM,
        institution=institution,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def validate_endpoint(transport: str, endpoint: str) -> str:
    endpoint = endpoint.strip()
    if transport == Transport.REST_HOOK:
        if not endpoint.startswith(("http://", "https://")):
            raise ValidationFailed(
                _("A rest-hook endpoint is an http(s) URL"),
                details={"fields": {"endpoint": endpoint}},
            )
    elif transport == Transport.MLLP:
        transports.split_endpoint(endpoint)
    else:
        raise ValidationFailed(_("Unknown transport"), details={"fields": {"transport": transport}})
    return endpoint


def subscribe(
    system: MemberSystem,
    transport: str,
    endpoint: str,
    *,
    authorization: str = "",
    receiving_application: str = "",
    receiving_facility: str = "",
    created_by: User | None = None,
) -> Subscription:
    """Deliver the signed conclusions of the system's institution's cases to ``endpoint``."""
    endpoint = validate_endpoint(transport, endpoint)
    with transaction.atomic():
        subscription = Subscription.objects.create(
            member_system=system,
            transport=transport,
            endpoint=endpoint,
            authorization=authorization,
            receiving_application=receiving_application,
            receiving_facility=receiving_facility,
        )
        audit.record(
            created_by,
            Action.ADMIN,
            object_type="subscription",
            object_id=subscription.pk,
            detail={"transport": transport, "endpoint": endpoint},
            actor_name="" if created_by else "cli",
        )
    return subscription


def retry_deliveries(actor: User, message_ids: Iterable[int]) -> int:
    """An operator sends dead letters again (the admin's "retry" action)."""
    return outbound.retry(actor, message_ids)
