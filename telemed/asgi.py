"""ASGI entry: HTTP through Django, WebSockets through Channels (routes added by the apps
that push: boards, ECG pools, notifications)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemed.settings")
django_asgi = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from telemed.core.body_limits import BodySizeGuard  # noqa: E402
from telemed.core.realtime import websocket_urlpatterns  # noqa: E402
from telemed.pathology.fast_tiles import FastTiles  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Tile requests with a tile token skip Django (telemed/pathology/fast_tiles.py).
        "http": BodySizeGuard(FastTiles(django_asgi)),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
