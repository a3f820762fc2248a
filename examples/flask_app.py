"""Flask (WSGI): a view returns sk.wsgi(...), and Flask streams its body.

    python examples/flask_app.py        # then: curl -N http://127.0.0.1:8000/countdown/5
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

import streamkit as sk

app = Flask(__name__)


@app.get("/")
def home() -> str:
    return "curl -N http://127.0.0.1:8000/countdown/5\n"


@app.get("/countdown/<int:start>")
def countdown(start: int) -> Any:
    stream = sk.iterate(range(start, 0, -1)) | sk.spaceout(0.1) | sk.map(str) | sk.to_sse(ids=True, done="liftoff")
    return sk.wsgi(stream, heartbeat=15)


def main() -> None:
    # Flask's development server; in production any threaded WSGI server (waitress, gunicorn --threads).
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), threaded=True)


if __name__ == "__main__":
    main()
