"""The pages. Thin: parse the request, call a query or a service, render."""

from telemed.web.views.audit import audit_trail
from telemed.web.views.directory import experts, institution, network
from telemed.web.views.home import home
from telemed.web.views.patients import patient_detail, patient_list, register_patient

__all__ = [
    "audit_trail",
    "experts",
    "home",
    "institution",
    "network",
    "patient_detail",
    "patient_list",
    "register_patient",
]
