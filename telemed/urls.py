from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls
from oauth2_provider.views import ConnectDiscoveryInfoView, JwksInfoView

from telemed.api import api
from telemed.core.views import healthz
from telemed.fhir.views import root as fhir_base

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("o/", include(oauth2_urls, namespace="oauth2_provider")),
    path(
        ".well-known/openid-configuration",
        ConnectDiscoveryInfoView.as_view(),
        name="oidc-discovery",
    ),
    path(".well-known/jwks.json", JwksInfoView.as_view(), name="oidc-jwks"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("telemed.accounts.urls")),
    path("consultations/", include("telemed.consultations.urls_cases")),
    path("board/", include("telemed.consultations.urls_board")),
    path("", include("telemed.consultations.urls_media")),
    path("notifications/", include("telemed.notifications.urls")),
    path("imaging/", include("telemed.imaging.urls")),
    path("dicomweb/", include("telemed.imaging.dicomweb.urls")),
    path("ecg/", include("telemed.ecg.urls")),
    path("pathology/", include("telemed.pathology.urls")),
    path("exchange/", include("telemed.exchange.urls")),
    # FHIR's base URL takes transaction and batch Bundles without a trailing slash.
    path("fhir", fhir_base, name="fhir-base"),
    path("fhir/", include("telemed.fhir.urls")),
    path("", include("telemed.web.urls")),
]
