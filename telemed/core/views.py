from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from telemed import __version__


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            database = cursor.fetchone() == (1,)
    except Exception:  # any driver error means "not reachable" to a health check
        database = False
    body = {
        "status": "ok" if database else "degraded",
        "version": __version__,
        "database": database,
    }
    return JsonResponse(body, status=200 if database else 503)
