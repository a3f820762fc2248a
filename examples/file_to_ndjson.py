"""A log file as an NDJSON download: one JSON object per line, streamed as it is read.

    python examples/file_to_ndjson.py   # then: curl -OJ http://127.0.0.1:8000/app.ndjson
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamkit as sk

LOG = Path(os.environ.get("LOG_FILE", Path(__file__).with_name("data") / "app.log"))


def parse(line: str) -> dict[str, Any]:
    time, level, message = line.split(" ", 2)
    return {"time": time, "level": level, "message": message}


records = sk.from_file(LOG) | sk.filter(bool) | sk.map(parse) | sk.to_ndjson()
app = sk.asgi(records, headers={"Content-Disposition": 'attachment; filename="app.ndjson"'})


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
