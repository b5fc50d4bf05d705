from django.urls import path

from telemed.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("second-factor/", views.second_factor, name="second_factor"),
]
