"""The FHIR R4 REST API at /fhir."""

from __future__ import annotations

from typing import Any

app_name = "fhir"
urlpatterns: list[Any] = []
