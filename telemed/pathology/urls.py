"""The pathology app's pages and tile routes."""

from __future__ import annotations

from typing import Any

app_name = "pathology"
urlpatterns: list[Any] = []
