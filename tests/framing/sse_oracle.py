"""A deliberately naive SSE parser, written line by line from the WHATWG text.

It sees the whole stream at once, so it has none of SSEDecoder's chunking
or fast paths; property tests check that the two always agree.
"""

from __future__ import annotations

import re

_EOL = re.compile(r"\r\n|\r|\n")


def parse(stream: bytes) -> tuple[list[tuple[str, str, str, int | None]], str, int | None]:
    """Return ([(type, data, last_event_id, retry), ...], last_event_id, retry)."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _EOL.split(text)
    lines.pop()  # the text after the last line end is not a line (discarded at EOF)
    events: list[tuple[str, str, str, int | None]] = []
    data = ""
    event_type = ""
    id_buffer = ""
    last_event_id = ""
    retry: int | None = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append((event_type or "message", data, last_event_id, retry))
            data = ""
            event_type = ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry":
            if value and all(c in "0123456789" for c in value):
                retry = int(value)
    return events, last_event_id, retry
