"""/dicomweb: the DICOMweb routes (studies, series, instances; metadata, frames, rendered)."""

from __future__ import annotations

from django.urls import path, register_converter

from telemed.imaging.dicomweb import views


class UidConverter:
    # UID syntax only, so no other character can reach a view from the path.
    regex = r"[0-9]+(?:\.[0-9]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class FrameListConverter:
    regex = r"[0-9]+(?:,[0-9]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(UidConverter, "uid")
register_converter(FrameListConverter, "frames")

_SERIES = "studies/<uid:study>/series/<uid:series>"
_INSTANCE = f"{_SERIES}/instances/<uid:instance>"

app_name = "dicomweb"
urlpatterns = [
    path("studies", views.studies, name="studies"),
    path("series", views.all_series, name="series-search"),
    path("instances", views.all_instances, name="instances-search"),
    path("studies/<uid:study>", views.study, name="study"),
    path("studies/<uid:study>/metadata", views.metadata, name="study-metadata"),
    path("studies/<uid:study>/series", views.all_series, name="study-series"),
    path("studies/<uid:study>/instances", views.all_instances, name="study-instances"),
    path(_SERIES, views.series, name="series"),
    path(f"{_SERIES}/metadata", views.metadata, name="series-metadata"),
    path(f"{_SERIES}/instances", views.all_instances, name="series-instances"),
    path(_INSTANCE, views.instance, name="instance"),
    path(f"{_INSTANCE}/metadata", views.metadata, name="instance-metadata"),
    path(f"{_INSTANCE}/frames/<frames:numbers>", views.frames, name="frames"),
    path(f"{_INSTANCE}/rendered", views.rendered, name="rendered"),
]
