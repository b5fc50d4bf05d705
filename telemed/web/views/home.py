from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from telemed.web import dashboards
from telemed.web.access import page, signed_in


@page("web:home")
def home(request: HttpRequest) -> HttpResponse:
    template, context = dashboards.for_user(signed_in(request))
    return render(request, template, context)
