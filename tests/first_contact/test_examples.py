"""Every file in examples/ runs: each is imported as a module, its ``app`` served on a free
port by a real server, and real responses read from it. (``python examples/X.py`` calls the
same ``app`` through ``main()``; test_example_scripts_start checks that path for one.)"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.first_contact.demo_client import first_bytes
from tests.servers import free_port, uvicorn_server, wait_for, wsgi_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"streamkit_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # frameworks (Litestar) look their handlers' module up
    spec.loader.exec_module(module)
    assert callable(module.main), f"examples/{name}.py has no main()"
    return module


def full_body(url: str) -> bytes:
    with httpx.Client(timeout=10) as client:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.content


def test_every_example_is_tested() -> None:
    tested = {"fastapi_app", "starlette_app", "litestar_app", "quart_app", "django_app", "flask_app",
              "llm_to_browser", "proxy_sse", "file_to_ndjson", "broadcast"}
    assert {path.stem for path in EXAMPLES.glob("*.py")} == tested


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("fastapi_app", "/countdown/3"),
        ("fastapi_app", "/ticks/"),
        ("starlette_app", "/countdown/3"),
        ("starlette_app", "/ticks/"),
        ("litestar_app", "/countdown/?start=3"),
        ("quart_app", "/events/?start=3"),
    ],
)
def test_asgi_framework_examples_stream_a_countdown(name: str, path: str) -> None:
    with uvicorn_server(load(name).app) as url:
        body = full_body(url + path)
    assert b"id: 1\ndata: 3\n\n" in body and body.endswith(b"data: liftoff\n\n"), body


def test_flask_example_streams_a_countdown() -> None:
    with wsgi_server(load("flask_app").app) as url:
        body = full_body(url + "/countdown/3")
        assert b"curl" in full_body(url + "/")
    assert b"id: 1\ndata: 3\n\n" in body and body.endswith(b"data: liftoff\n\n"), body


def test_llm_to_browser_example() -> None:
    with uvicorn_server(load("llm_to_browser").app) as url:
        assert b"EventSource" in full_body(url + "/")
        body = full_body(url + "/answer?q=hello")
    assert body.startswith(b"data: You \n\n") and b"data: hello. \n\n" in body and body.endswith(b"event: done\ndata: \n\n"), body


def test_proxy_sse_example_against_its_own_upstream() -> None:
    example = load("proxy_sse")
    with uvicorn_server(example.upstream) as upstream_url, uvicorn_server(example.make_app(upstream_url + "/")) as url:
        body = full_body(url + "/")
    events = [block for block in body.decode().split("\n\n") if block]
    assert len(events) == 10
    assert events[0] == 'id: 1\ndata: {"symbol": "XYZ", "dollars": 10.0}' and events[-1].endswith('"dollars": 10.09}'), events


def test_file_to_ndjson_example() -> None:
    with uvicorn_server(load("file_to_ndjson").app) as url, httpx.Client(timeout=10) as client:
        response = client.get(url + "/")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    records = [json.loads(line) for line in response.text.splitlines()]
    assert records[1] == {"time": "2026-11-20T10:00:01", "level": "WARNING", "message": "disk 91% full"} and len(records) == 3


def test_broadcast_example_replays_and_resumes() -> None:
    with uvicorn_server(load("broadcast").app) as url, httpx.Client(timeout=10) as client:
        first = client.post(url + "/publish?text=hi").text.strip()
        assert b'data: {"text": "hi"}' in first_bytes(url, "/events", b'"hi"')
        client.post(url + "/publish?text=again")
        # Resuming after the first event gets only what came later.
        received = b""
        with client.stream("GET", url + "/events", headers={"Last-Event-ID": first}) as response:
            for chunk in response.iter_raw():
                received += chunk
                if b'"again"' in received:
                    break
    assert b'"hi"' not in received


@pytest.mark.parametrize(("name", "path"), [("django_app", "/events/?start=3"), ("file_to_ndjson", "/")])
def test_example_scripts_start(name: str, path: str) -> None:
    """``python examples/X.py`` serves its app. Django runs only this way: its settings are
    process-wide, and the framework recipe tests configure their own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{name}.py")], env=dict(os.environ, PORT=str(port)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            try:
                return httpx.get(url + "/", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, timeout=20, interval=0.1)
        body = full_body(url + path)
    finally:
        # uvicorn re-raises the SIGTERM it handled once it has shut down: exit by that signal.
        process.terminate()
        assert process.wait(20) in (0, -15)
    if name == "django_app":
        assert b"id: 1\ndata: 3\n\n" in body and body.endswith(b"data: liftoff\n\n"), body
    else:
        assert body.count(b"\n") == 3
