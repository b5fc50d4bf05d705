from django.urls import path

from telemed.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("patients/", views.patient_list, name="patients"),
    path("patients/new/", views.register_patient, name="patient_new"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("experts/", views.experts, name="experts"),
    path("network/", views.network, name="network"),
    path("network/<str:code>/", views.institution, name="institution"),
    path("audit/", views.audit_trail, name="audit"),
]
