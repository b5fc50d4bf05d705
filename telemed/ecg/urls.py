"""The ecg app's pages (mounted at /ecg/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from telemed.ecg import views, views_roster

app_name = "ecg"
urlpatterns: list[URLPattern] = [
    path("", views.worklist, name="worklist"),
    path("new/", views.new, name="new"),
    path("roster/", views_roster.roster_page, name="roster"),
    path("roster/<int:shift_id>/end/", views_roster.end_shift, name="roster_end"),
    path("<int:consultation_id>/", views.case, name="case"),
    path("<int:consultation_id>/claim/", views.claim, name="claim"),
    path("<int:consultation_id>/release/", views.release, name="release"),
    path("<int:consultation_id>/report/", views.report, name="report"),
    path("<int:consultation_id>/amend/", views.amend, name="amend"),
    path("<int:consultation_id>/report/fragment/", views.report_fragment, name="report_fragment"),
    path("<int:consultation_id>/report.pdf", views.report_pdf, name="report_pdf"),
]
