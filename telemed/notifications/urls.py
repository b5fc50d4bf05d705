from django.urls import URLPattern, URLResolver, path

from telemed.notifications import views

app_name = "notifications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.notification_list, name="list"),
    path("<int:notification_id>/open", views.open_notification, name="open"),
    path("read-all", views.read_all, name="read_all"),
]
