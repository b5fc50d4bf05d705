"""What every page's layout needs: the signed-in person's menu, role and institution."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from telemed.accounts.models import Role
from telemed.accounts.services import second_factor_required
from telemed.web.menus import menu_for, section_of


def navigation(request: HttpRequest) -> dict[str, object]:
    context: dict[str, object] = {"telemed_version": settings.VERSION, "nav_items": []}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    if second_factor_required(user) and not user.is_verified():
        # Half signed in: every page but the second step would only bounce back to it.
        return context
    match = getattr(request, "resolver_match", None)
    current = section_of(match.view_name) if match is not None else ""
    items = []
    for page in menu_for(user.role):
        try:
            url = reverse(page.url_name)
        except NoReverseMatch:  # an app left out of this deployment's URLs
            continue
        items.append({"url": url, "label": page.label, "active": current == page.url_name})
    context["nav_items"] = items
    context["nav_role"] = Role(user.role).label if user.role in Role.values else ""
    context["nav_institution"] = user.institution  # loaded once; a FK, not patient data
    return context
