"""Small helpers for the pages' templates."""

from __future__ import annotations

from django import forms, template
from django.http import HttpRequest
from django.utils.translation import get_language

from telemed.accounts.models import Role

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int) -> str:
    """The current URL's query string with another page number, filters kept."""
    request: HttpRequest = context["request"]
    query = request.GET.copy()
    query["page"] = str(number)
    return "?" + query.urlencode()


@register.simple_tag
def demo_accounts() -> dict[str, object]:
    """The demo sign-ins, for the sign-in page of a demo deployment only."""
    from telemed.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD

    accounts = [
        {"username": account.username, "name": account.name, "role": role_label(account.role)}
        for account in DEMO_ACCOUNTS
    ]
    return {"accounts": accounts, "password": DEMO_PASSWORD}


@register.filter
def role_label(value: str) -> str:
    return str(Role(value).label) if value in Role.values else value


@register.filter
def masked(value: str | None) -> str:
    """A resident ID number with its middle hidden: enough to compare, not to copy."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


@register.filter
def bootstrap(field: forms.BoundField) -> str:
    """The field's widget with Bootstrap's classes, marked invalid when it has errors."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    attrs: dict[str, str | bool] = {"class": css}
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.filter
def localized(obj: object, field: str) -> str:
    """``obj.<field>_en`` on an English page when it is filled in, else ``obj.<field>``
    (practitioners' names and experts' summaries are kept in both languages)."""
    language = get_language() or ""
    if language.startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field, ""))
