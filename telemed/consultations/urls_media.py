"""A case's files, video and printable conclusion (plain views; the JSON side is api_media)."""

from django.urls import URLPattern, URLResolver, path

from telemed.consultations import views_media

app_name = "consultation_media"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "uploads/consultations/<int:consultation_id>/attachments",
        views_media.upload,
        name="upload",
    ),
    path(
        "consultations/<int:consultation_id>/attachments/<int:attachment_id>",
        views_media.download,
        name="attachment",
    ),
    path(
        "consultations/<int:consultation_id>/conclusion.pdf",
        views_media.conclusion_pdf,
        name="conclusion_pdf",
    ),
    path(
        "consultations/<int:consultation_id>/video/join",
        views_media.video_join,
        name="video_join",
    ),
    path(
        "consultations/<int:consultation_id>/video/open",
        views_media.video_open,
        name="video_open",
    ),
    path("consultations/<int:consultation_id>/media", views_media.panel, name="panel"),
]
