"""WebSocket routes. Apps that push (the consultation board, ECG pools, notifications)
append their consumers here; the platform core registers none of its own."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
