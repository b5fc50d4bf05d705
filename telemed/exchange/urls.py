"""The exchange app's pages: the operators' outbox, dead letters and code queue."""

from __future__ import annotations

from django.urls import path

from telemed.exchange import views

app_name = "exchange"
urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:message_id>/", views.message, name="message"),
    path("outbox/retry/", views.retry, name="retry"),
    path("codes/", views.code_queue, name="codes"),
    path("codes/<int:entry_id>/map/", views.map_code, name="map_code"),
]
