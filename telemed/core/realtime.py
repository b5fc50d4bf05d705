"""WebSocket routes. Apps that push (the consultation board, ECG pools, notifications)
append their consumers here; the platform core registers none of its own."""

from __future__ import annotations

from typing import Any

from django.urls import path

from telemed.consultations.realtime import BoardConsumer
from telemed.ecg.realtime import EcgConsumer
from telemed.notifications.consumers import NotificationConsumer
from telemed.pathology.consumers import EdgeConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/board/", BoardConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/ecg/", EcgConsumer.as_asgi()),
    path("ws/edge/", EdgeConsumer.as_asgi()),
]
