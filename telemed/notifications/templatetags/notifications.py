from __future__ import annotations

from django import template

from telemed.notifications.queries import unread_count as count_unread

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context: template.Context) -> int:
    """The signed-in person's unread notifications (0 for anyone else)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return count_unread(user)
