"""The FHIR R4 REST API at /fhir."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from telemed.fhir import views

app_name = "fhir"

# FHIR ids: [A-Za-z0-9-.]{1,64}; the type is checked against what is served (404 otherwise).
_TYPE = r"(?P<type_name>[A-Za-z]{1,60})"
_ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

urlpatterns: list[URLPattern] = [
    path("", views.root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    re_path(rf"^{_TYPE}/?$", views.type_root, name="type"),
    re_path(rf"^{_TYPE}/_search/?$", views.search_post, name="search"),
    re_path(rf"^{_TYPE}/{_ID}/?$", views.instance, name="instance"),
    re_path(
        rf"^{_TYPE}/{_ID}/_history/(?P<version_id>[A-Za-z0-9\-.]{{1,64}})/?$",
        views.version,
        name="version",
    ),
    re_path(r"^.*$", views.unknown, name="unknown"),
]
