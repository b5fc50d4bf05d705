"""The exchange app's pages."""

from __future__ import annotations

from typing import Any

app_name = "exchange"
urlpatterns: list[Any] = []
