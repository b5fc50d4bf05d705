"""The imaging app's pages (mounted at /imaging/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from telemed.imaging.views import cases, report, studies, viewer

app_name = "imaging"
urlpatterns: list[URLPattern] = [
    path("", studies.study_list, name="studies"),
    path("upload/", studies.upload, name="upload"),
    path("studies/<int:study_id>/", studies.study_detail, name="study"),
    path("studies/<int:study_id>/viewer/", viewer.study_viewer, name="study_viewer"),
    path("cases/<int:consultation_id>/", cases.case_detail, name="case"),
    path("cases/<int:consultation_id>/panel/", cases.case_panel, name="case_panel"),
    path("cases/<int:consultation_id>/viewer/", viewer.case_viewer, name="case_viewer"),
    path("cases/<int:consultation_id>/report/", report.write, name="report"),
    path("cases/<int:consultation_id>/report/amend/", report.amend, name="amend"),
    path("cases/<int:consultation_id>/report.pdf", report.report_pdf, name="report_pdf"),
]
