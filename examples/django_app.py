"""Django in one file (ASGI): /events/ goes to streamkit, everything else to Django.

    python examples/django_app.py       # then: curl -N http://127.0.0.1:8000/events/?start=5

In a real project the routing function below lives in ``mysite/asgi.py``.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

import streamkit as sk

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="streamkit-example-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )
    django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("curl -N http://127.0.0.1:8000/events/?start=5\n", content_type="text/plain")


urlpatterns = [path("", home)]


def events(request: sk.Request) -> sk.Stream[bytes]:
    start = int(request.query.get("start", "5"))
    return sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")


django_app = get_asgi_application()
streams = sk.asgi(events, heartbeat=15)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith("/events/"):
        await streams(scope, receive, send)
    elif scope["type"] == "http":
        await django_app(scope, receive, send)


def main() -> None:
    # Django does not speak the ASGI lifespan protocol.
    sk.serve(app, port=int(os.environ.get("PORT", "8000")), lifespan="off")


if __name__ == "__main__":
    main()
