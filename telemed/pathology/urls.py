"""The pathology app's pages and the slide upload (tiles are API routes)."""

from __future__ import annotations

from django.urls import URLPattern, path

from telemed.pathology import tus, views

app_name = "pathology"
urlpatterns: list[URLPattern] = [
    path("cases/<int:consultation_id>/", views.case_viewer, name="case"),
    path("cases/<int:consultation_id>/report.pdf", views.report_pdf, name="report_pdf"),
    path("tus/", tus.collection, name="tus"),
    path("tus/<uuid:upload_id>", tus.resource, name="tus_upload"),
    path("uploads/<int:consultation_id>/slides", views.upload, name="upload"),
]
