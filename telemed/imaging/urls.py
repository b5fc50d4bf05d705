"""The imaging app's pages."""

from __future__ import annotations

from typing import Any

app_name = "imaging"
urlpatterns: list[Any] = []
