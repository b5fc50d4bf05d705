"""``{% media_panel consultation user as media %}``: what the case page's media panel shows
(attachments, the video room and who joined, the printable conclusion), so that
``consultations/partials/media.html`` needs nothing but ``consultation`` and ``user``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def media_panel(consultation: Any, user: Any) -> dict[str, Any]:
    from telemed.consultations.views_media import panel_context

    return panel_context(user, consultation)
