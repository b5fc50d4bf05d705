from django.urls import URLPattern, URLResolver, path

from telemed.consultations import views_board

app_name = "board"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views_board.board_page, name="board"),
    path("rows", views_board.rows, name="rows"),
]
