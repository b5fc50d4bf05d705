"""Signing in with a username and password (Django's model backend), with one change: the
signed-in user of every request is read together with the institution and region that their
scope is computed from, in one query instead of three."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from telemed.accounts.models import User
from telemed.core.rows import matched


class ScopedModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = matched(
            User._default_manager.select_related("institution__region", "supervised_region").filter(
                pk=user_id
            )
        )
        return user if user is not None and self.user_can_authenticate(user) else None
