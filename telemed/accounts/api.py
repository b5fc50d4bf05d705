from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    name: str
    role: str
    institution: str | None
    institution_name: str | None


@router.get("/me", response=MeOut, summary="Who the caller is")
def me(request: HttpRequest) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    institution = user.institution
    return {
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "role": user.role,
        "institution": institution.code if institution else None,
        "institution_name": institution.name if institution else None,
    }
