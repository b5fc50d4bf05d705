"""The pathology app's JSON API routes (mounted in telemed/api.py)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["pathology"])
