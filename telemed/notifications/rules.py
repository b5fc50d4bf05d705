"""Who is told what when a consultation changes (the "consultation.changed" event).

- submitted: quality control covering the requesting institution (or, for a kind without
  quality control, the consultation managers: it waits for triage);
- returned by quality control, concluded, amended, session started, cancelled: the doctor
  who requested it;
- accepted by quality control, declined by the expert: the consultation managers covering
  the requesting institution (it waits for triage);
- triaged, reassigned: the expert it is assigned to;
- scheduled: the expert and the requesting doctor;
- a message on the thread: everyone on the case (requesting doctor, assigned expert, whoever
  wrote on the thread).

Nobody is told about their own action. Urgent and emergency cases also go out by email/SMS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from telemed.accounts.models import Role
from telemed.consultations.states import State, Urgency
from telemed.notifications.recipients import staff_covering
from telemed.notifications.services import notify


def case_link(consultation_id: int) -> str:
    """The case's page (the consultation pages live under /consultations/<id>/)."""
    return f"/consultations/{consultation_id}/"


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _urgency_prefix(urgency: str) -> str:
    if urgency in (Urgency.URGENT, Urgency.EMERGENCY):
        return f"[{Urgency(urgency).label}] "
    return ""


def _when(value: str | None) -> str:
    if not value:
        return ""
    moment = timezone.localtime(dt.datetime.fromisoformat(value))
    return f"{moment:%Y-%m-%d %H:%M}"


def _thread_authors(consultation_id: int) -> list[int]:
    from telemed.consultations.models import Message

    return list(
        Message.objects.unscoped("tell the people on a case's thread about a new message")
        .filter(consultation_id=consultation_id)
        .values_list("author_id", flat=True)
        .distinct()
    )


def _plan(payload: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The title and the recipients for this change, or None when nobody is told."""
    action, number, state = payload["action"], payload["number"], payload["state"]
    requester = payload.get("requested_by_id")
    expert = payload.get("assigned_expert_id")
    requesting = payload.get("requesting_institution_id")
    values = {"number": number}
    if action == "submit":
        if state == State.SUBMITTED:
            return (
                gettext("Consultation %(number)s is waiting for quality control") % values,
                staff_covering(Role.QUALITY_CONTROL, [requesting]),
            )
        return (
            gettext("Consultation %(number)s is waiting for triage") % values,
            staff_covering(Role.CONSULTATION_MANAGER, [requesting]),
        )
    if action == "qc_return":
        return (
            gettext("Consultation %(number)s was returned by quality control: revise it") % values,
            [requester],
        )
    if action == "qc_accept":
        return (
            gettext("Consultation %(number)s passed quality control and waits for triage") % values,
            staff_covering(Role.CONSULTATION_MANAGER, [requesting]),
        )
    if action == "decline":
        return (
            gettext("Consultation %(number)s was declined by the expert: triage it again") % values,
            staff_covering(Role.CONSULTATION_MANAGER, [requesting]),
        )
    if action in ("triage", "reassign"):
        return (gettext("Consultation %(number)s is assigned to you") % values, [expert])
    if action == "schedule":
        when = _when(payload.get("scheduled_start"))
        return (
            gettext("Consultation %(number)s is scheduled for %(when)s")
            % {"number": number, "when": when},
            [expert, requester],
        )
    if action == "start_session":
        return (gettext("The session of consultation %(number)s has started") % values, [requester])
    if action == "conclude":
        return (
            gettext("The conclusion of consultation %(number)s is signed") % values,
            [requester],
        )
    if action == "amend":
        return (
            gettext("The conclusion of consultation %(number)s was amended") % values,
            [requester],
        )
    if action == "cancel":
        return (gettext("Consultation %(number)s was cancelled") % values, [requester])
    if action == "message":
        return (
            gettext("New message on consultation %(number)s") % values,
            [requester, expert, *_thread_authors(payload["id"])],
        )
    return None


def on_consultation_changed(payload: dict[str, Any]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        plan = _plan(payload)
        if plan is None:
            return
        title, recipients = plan
        actor = payload.get("actor_id")
        recipients = [r for r in recipients if r is not None and _pk(r) != actor]
        urgency = payload.get("urgency", Urgency.ROUTINE)
        body = gettext("Urgency: %(urgency)s. State: %(state)s.") % {
            "urgency": Urgency(urgency).label if urgency in Urgency.values else urgency,
            "state": _state_label(payload["state"]),
        }
        notify(
            recipients,
            f"consultation.{payload['action']}",
            _urgency_prefix(urgency) + title,
            body,
            case_link(payload["id"]),
            urgency=urgency,
        )


def _pk(recipient: Any) -> Any:
    return getattr(recipient, "pk", recipient)
