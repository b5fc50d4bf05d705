"""The consultation pages (mounted at /consultations/)."""

from django.urls import URLPattern, URLResolver, path

from telemed.consultations.views import case, expert, manage, quality, queues, requests

app_name = "consultations"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", requests.consultation_list, name="list"),
    path("new/", requests.pick_patient, name="new_pick"),
    path("new/<int:patient_id>/", requests.new, name="new"),
    path("new/experts/", requests.picker, name="picker"),
    path("new/diseases/", requests.diseases, name="diseases"),
    path("queues/quality-control/", queues.qc_queue, name="qc_queue"),
    path("queues/triage/", queues.triage_queue, name="triage_queue"),
    path("queues/scheduling/", queues.scheduling_queue, name="scheduling_queue"),
    path("queues/overdue/", queues.overdue, name="overdue"),
    path("worklist/", queues.worklist, name="worklist"),
    path("<int:consultation_id>/", case.detail, name="detail"),
    path("<int:consultation_id>/history/", case.history, name="history"),
    path("<int:consultation_id>/messages/", case.thread, name="messages"),
    path("<int:consultation_id>/do/<slug:action>/", case.act, name="act"),
    path("<int:consultation_id>/feedback/", case.feedback, name="feedback"),
    path("<int:consultation_id>/edit/", requests.edit, name="edit"),
    path("<int:consultation_id>/review/", quality.review, name="review"),
    path("<int:consultation_id>/triage/", manage.triage, name="triage"),
    path("<int:consultation_id>/schedule/", manage.schedule, name="schedule"),
    path("<int:consultation_id>/conclusion/", expert.conclude, name="conclude"),
    path("<int:consultation_id>/amend/", expert.amend, name="amend"),
]
