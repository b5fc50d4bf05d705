"""The case page and what anyone on the case does from it: the one-click and with-a-reason
steps, the history, the message thread, feedback."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from telemed.consultations import pages, services
from telemed.consultations.forms import FeedbackForm, MessageForm, ReasonForm
from telemed.consultations.views.common import (
    failure,
    load,
    place_error,
    render_case,
    still_visible,
)
from telemed.consultations.views.requests import render_edit_with_errors
from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.web.access import is_htmx, page, signed_in

DONE = {
    "submit": gettext_lazy("The request is submitted."),
    "withdraw": gettext_lazy("The request is withdrawn."),
    "start_session": gettext_lazy("The session has started."),
    "decline": gettext_lazy("You declined the case; it is back with triage."),
    "close": gettext_lazy("The case is closed."),
    "cancel": gettext_lazy("The consultation is cancelled."),
}
ONE_CLICK: dict[str, Callable[..., object]] = {
    "submit": services.submit,
    "start_session": services.start_session,
    "close": services.close,
}
WITH_REASON: dict[str, Callable[..., object]] = {
    "withdraw": services.withdraw,
    "decline": services.decline,
    "cancel": services.cancel,
}


@page("consultations:detail")
def detail(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return render_case(request, consultation_id)


@page("consultations:act")
@require_POST
def act(request: HttpRequest, consultation_id: int, action: str) -> HttpResponse:
    """One step taken from a button on the case page (with its reason, where it needs one)."""
    user = signed_in(request)
    if action not in ONE_CLICK and action not in WITH_REASON:
        raise Http404("no such action")
    load(user, consultation_id)  # 404 before anything else when out of scope
    reason_form = None
    try:
        if action in WITH_REASON:
            reason_form = ReasonForm(request.POST, prefix=action)
            if not reason_form.is_valid():
                return render_case(
                    request, consultation_id, status=422, bound={action: reason_form}, opened=action
                )
            WITH_REASON[action](user, consultation_id, reason_form.cleaned_data["reason"])
        else:
            ONE_CLICK[action](user, consultation_id)
    except NotFound:
        raise Http404("consultation not found") from None
    except ValidationFailed as error:
        if action == "submit":
            return render_edit_with_errors(request, consultation_id, error)
        if reason_form is not None:
            place_error(reason_form, error)
            return render_case(
                request,
                consultation_id,
                status=error.status,
                bound={action: reason_form},
                opened=action,
            )
        return render_case(request, consultation_id, status=error.status, error=failure(error))
    except DomainError as error:
        return render_case(request, consultation_id, status=error.status, error=failure(error))
    messages.success(request, str(DONE[action]))
    if not still_visible(user, consultation_id):
        # A declining expert no longer holds the case.
        return redirect("web:home")
    return redirect("consultations:detail", consultation_id=consultation_id)


@page("consultations:history")
def history(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    context = {
        "consultation": consultation,
        "events": pages.events_of(consultation),
        "record": pages.record_of(consultation),
    }
    return render(request, "consultations/history.html", context)


@page("consultations:messages")
def thread(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """The thread (an htmx fragment), and posting to it."""
    user = signed_in(request)
    consultation = load(user, consultation_id)
    form = MessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.post_message(user, consultation_id, form.cleaned_data["body"])
        except NotFound:
            raise Http404("consultation not found") from None
        except DomainError as error:
            place_error(form, error)
        else:
            form = MessageForm()
            if not is_htmx(request):
                messages.success(request, _("Your message is posted."))
                url = reverse("consultations:detail", kwargs={"consultation_id": consultation_id})
                return redirect(f"{url}#thread")
    if not is_htmx(request):
        if request.method == "POST":  # a rejected message without htmx: the case page
            return render_case(request, consultation_id, status=422, bound={"message": form})
        return redirect("consultations:detail", consultation_id=consultation_id)
    context = {
        "consultation": consultation,
        "thread": pages.messages_of(consultation),
        "message_form": form,
        "may_post": consultation.state != "draft",
    }
    # htmx swaps only 2xx answers: a rejected message comes back 200 with its error shown.
    return render(request, "consultations/partials/thread.html", context)


@page("consultations:feedback")
@require_POST
def feedback(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    load(user, consultation_id)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.give_feedback(
                user,
                consultation_id,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                follow_up=form.cleaned_data["follow_up"],
            )
        except NotFound:
            raise Http404("consultation not found") from None
        except DomainError as error:
            place_error(form, error)
            return render_case(
                request, consultation_id, status=error.status, bound={"feedback": form}
            )
        messages.success(request, _("Thank you: your feedback is recorded."))
        return redirect("consultations:detail", consultation_id=consultation_id)
    return render_case(request, consultation_id, status=422, bound={"feedback": form})
