"""What the ID token tells other subsystems about the signed-in user: enough to apply the
platform's one permission model (role, institution) without a second user directory."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class TelemedOIDCValidator(OAuth2Validator):
    # Every claim below goes out with the openid scope; subsystems need them all to decide access.
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        institution = getattr(user, "institution", None)
        return {
            "preferred_username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "telemed_role": getattr(user, "role", ""),
            "telemed_institution": institution.code if institution is not None else None,
        }
