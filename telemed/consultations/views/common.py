"""What every consultation page shares: loading a case in scope (404 otherwise), putting a
service error on a form, and rendering the case page with an error on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from telemed.consultations import pages, queries
from telemed.consultations.forms import FeedbackForm, MessageForm, ReasonForm
from telemed.consultations.policies import policy_for
from telemed.consultations.states import State
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound
from telemed.web.access import signed_in
from telemed.web.errors import translated

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation

# Actions taken with a reason typed on the case page itself.
REASON_ACTIONS = ("withdraw", "decline", "cancel")


def load(user: User, consultation_id: int) -> Consultation:
    """The case, read (and audited) through the scoped query; 404 outside the scope."""
    try:
        return queries.get(user, consultation_id)
    except NotFound:
        raise Http404("consultation not found") from None


def still_visible(user: User, consultation_id: int) -> bool:
    return queries.visible(user).filter(pk=consultation_id).exists()


def place_error(
    form: forms.Form, error: DomainError, rename: Mapping[str, str] | None = None
) -> None:
    """A service error on the form: on the fields the service named, else on the form;
    a schedule clash lists every clash."""
    rename = rename or {}
    fields = error.details.get("fields")
    placed = False
    if isinstance(fields, dict):
        for name, problem in fields.items():
            target = rename.get(name, name)
            if target in form.fields:
                text = (
                    ", ".join(str(p) for p in problem)
                    if isinstance(problem, list)
                    else translated(str(problem))
                )
                form.add_error(target, text)
                placed = True
    clashes = error.details.get("clashes")
    if isinstance(clashes, list) and clashes:
        for clash in clashes:
            form.add_error(None, str(clash))
        placed = True
    if not placed:
        form.add_error(None, translated(error.message))


def case_context(
    request: HttpRequest,
    consultation: Consultation,
    *,
    bound: Mapping[str, forms.Form] | None = None,
    error: str = "",
    opened: str = "",
) -> dict[str, Any]:
    """The case page's context; ``bound`` replaces a default form with one that has errors,
    ``opened`` keeps that action's form unfolded."""
    user = signed_in(request)
    actions = allowed_actions(user, consultation)
    bound = bound or {}
    reason_forms = {
        action: bound.get(action) or ReasonForm(prefix=action)
        for action in REASON_ACTIONS
        if action in actions
    }
    record = pages.record_of(consultation)
    may_feedback = pages.may_give_feedback(user, consultation)
    policy = policy_for(consultation.kind)
    return {
        "consultation": consultation,
        "policy": policy,
        "conclude_url": policy.sign_url(consultation.pk),
        "amend_url": policy.sign_url(consultation.pk, amending=True),
        "actions": actions,
        "reason_forms": reason_forms,
        "record": record,
        "overdue": pages.is_overdue(user, consultation),
        "message_form": bound.get("message") or MessageForm(),
        "may_post": consultation.state != State.DRAFT,
        "feedback_form": (bound.get("feedback") or FeedbackForm()) if may_feedback else None,
        "error": error,
        "opened": opened,
    }


def render_case(
    request: HttpRequest,
    consultation_id: int,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
    error: str = "",
    opened: str = "",
) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    context = case_context(request, consultation, bound=bound, error=error, opened=opened)
    return render(request, "consultations/detail.html", context, status=status)


def not_now(request: HttpRequest, consultation: Consultation, verb: str) -> HttpResponse:
    """An action page opened when the step is not open to this user now: the case page, 409,
    saying why."""
    return render_case(
        request,
        consultation.pk,
        status=409,
        error=_("You cannot %(verb)s consultation %(number)s now: it is “%(state)s”.")
        % {
            "verb": verb,
            "number": consultation.number,
            "state": consultation.get_state_display(),
        },
    )


def failure(error: DomainError) -> str:
    """A service error as one sentence for the top of a page."""
    if error.status == 403:
        return translated(error.message) or _("You cannot do this on this consultation.")
    return translated(error.message)
