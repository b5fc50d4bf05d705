"""Template helpers for consultation pages: state and urgency badges, names, history labels."""

from __future__ import annotations

from django import template

from telemed.accounts.models import User
from telemed.consultations import pages
from telemed.consultations.states import State, Urgency

register = template.Library()

_STATE_COLOURS = {
    State.DRAFT: "secondary",
    State.SUBMITTED: "info",
    State.RETURNED: "warning",
    State.ACCEPTED: "primary",
    State.ASSIGNED: "primary",
    State.SCHEDULED: "primary",
    State.IN_SESSION: "success",
    State.CONCLUDED: "success",
    State.CLOSED: "dark",
    State.WITHDRAWN: "secondary",
    State.DECLINED: "warning",
    State.CANCELLED: "secondary",
}
_URGENCY_COLOURS = {
    Urgency.EMERGENCY: "danger",
    Urgency.URGENT: "warning",
    Urgency.ROUTINE: "light",
}


@register.filter
def state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


@register.filter
def state_colour(value: str) -> str:
    return _STATE_COLOURS.get(value, "secondary")  # type: ignore[call-overload]


@register.filter
def urgency_label(value: str) -> str:
    return str(Urgency(value).label) if value in Urgency.values else value


@register.filter
def urgency_colour(value: str) -> str:
    return _URGENCY_COLOURS.get(value, "light")  # type: ignore[call-overload]


@register.filter
def action_label(value: str) -> str:
    return pages.action_label(value)


@register.filter
def person(user: User | None) -> str:
    return pages.display_name(user)


@register.filter
def among(value: object, collection: object) -> bool:
    """``value in collection`` (a case id among the overdue ones)."""
    try:
        return value in collection  # type: ignore[operator]
    except TypeError:
        return False
