"""The guard behind the scoping choke point.

Every model that holds patient data uses ``PatientDataQuerySet``. Evaluating such a queryset
raises ``UnscopedRead`` unless it passed through a scoping function (``visible_to(user)``)
or was explicitly marked ``unscoped(reason)`` by a system service (duplicate detection across
the master patient index, audit verification, the demo loader). Related-object access from an
instance that was itself loaded through a scope is allowed: Django marks those querysets with
the ``instance`` hint. The guard turns a forgotten scope into a loud error in tests instead of
a silent cross-institution leak in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from django.conf import settings
from django.db import models


class UnscopedRead(RuntimeError):
    pass


class PatientDataQuerySet(models.QuerySet):
    _scope_checked: bool = False

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._scope_checked = self._scope_checked
        return clone

    def mark_scoped(self) -> Self:
        """Called by scoping functions only, after applying the caller's scope."""
        clone = self._chain()  # type: ignore[attr-defined]
        clone._scope_checked = True
        return clone

    def unscoped(self, reason: str) -> Self:
        """A deliberate system-wide read. ``reason`` documents why at the call site."""
        if not reason:
            raise ValueError("an unscoped read needs a reason")
        return self.mark_scoped()

    def _guard(self) -> None:
        if self._scope_checked or not settings.ENFORCE_SCOPING:
            return
        if self._hints.get("instance") is not None:  # type: ignore[attr-defined]
            return
        raise UnscopedRead(
            f"{self.model.__name__} read without a scope: use visible_to(user) from the app's "
            "queries module, or unscoped(reason) in a system service"
        )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def count(self) -> int:
        if self._result_cache is None:
            self._guard()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._guard()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._guard()
        return super().aggregate(*args, **kwargs)

    def iterator(self, chunk_size: int | None = None) -> Iterator[Any]:
        self._guard()
        return super().iterator(chunk_size=chunk_size)

    def in_bulk(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        self._guard()
        return super().in_bulk(*args, **kwargs)
