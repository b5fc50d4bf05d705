"""Turnaround alerts: cases past their urgency's target with no first response from an
expert are pushed to the consultation managers whose scope covers them, once per case and
manager. What was alerted is remembered by the alerts themselves: an "overdue" notification
with the case's link for that manager means it was told already.

``telemed serve`` runs the sweep every minute (see ``telemed.core.jobs``);
``telemed consultations sweep-overdue`` runs it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext

from telemed.accounts.models import Role
from telemed.consultations.models import Consultation
from telemed.consultations.queries import overdue_condition, turnaround_target
from telemed.consultations.states import Urgency
from telemed.core import clock
from telemed.notifications.models import Notification
from telemed.notifications.recipients import staff_covering
from telemed.notifications.rules import case_link
from telemed.notifications.services import deliver

logger = logging.getLogger(__name__)

KIND = "overdue"


def overdue_cases(now: dt.datetime | None = None) -> QuerySet[Consultation]:
    """Every overdue case in the province (the system-wide form of ``queries.overdue``)."""
    return (
        Consultation.objects.unscoped("turnaround sweep")
        .filter(overdue_condition(now or clock.now()))
        .order_by("submitted_at", "pk")
    )


def sweep_overdue(now: dt.datetime | None = None) -> int:
    """Alert the managers of every overdue case not yet alerted to them; returns how many
    alerts were written."""
    cases = list(
        overdue_cases(now).only(
            "pk",
            "number",
            "urgency",
            "state",
            "submitted_at",
            "requesting_institution_id",
            "assigned_institution_id",
        )
    )
    if not cases:
        return 0
    links = {case.pk: case_link(case.pk) for case in cases}
    told = set(
        Notification.objects.filter(kind=KIND, link__in=links.values()).values_list(
            "recipient_id", "link"
        )
    )
    managers_of: dict[tuple[int | None, int | None], list[int]] = {}
    # The same alert text goes to every manager of a case: one delivery per case.
    written = 0
    pending: dict[int, list[int]] = defaultdict(list)
    for case in cases:
        key = (case.requesting_institution_id, case.assigned_institution_id)
        if key not in managers_of:
            managers_of[key] = [user.pk for user in staff_covering(Role.CONSULTATION_MANAGER, key)]
        pending[case.pk] = [pk for pk in managers_of[key] if (pk, links[case.pk]) not in told]
    with translation.override(settings.LANGUAGE_CODE):
        for case in cases:
            recipients = pending[case.pk]
            if not recipients:
                continue
            urgency_label = Urgency(case.urgency).label if case.urgency in Urgency.values else ""
            title = gettext(
                "[%(urgency)s] Consultation %(number)s is past its turnaround target"
            ) % {"urgency": urgency_label, "number": case.number}
            target = turnaround_target(case.urgency)
            body = gettext(
                "Submitted %(submitted)s; no expert has responded within %(minutes)d minutes."
            ) % {
                "submitted": f"{timezone.localtime(case.submitted_at):%Y-%m-%d %H:%M}"
                if case.submitted_at
                else "",
                "minutes": int(target.total_seconds() // 60),
            }
            written += len(
                deliver(recipients, KIND, title, body, links[case.pk], urgency=case.urgency)
            )
    if written:
        logger.info("turnaround sweep: %d alerts for %d overdue cases", written, len(cases))
    return written
