"""The ecg app's pages."""

from __future__ import annotations

from typing import Any

app_name = "ecg"
urlpatterns: list[Any] = []
