"""The dicom app's pages."""

from __future__ import annotations

from typing import Any

app_name = "dicom"
urlpatterns: list[Any] = []
