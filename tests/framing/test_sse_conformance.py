"""The SSE conformance corpus (tests/data/sse_cases.json) through SSEDecoder.

Every case runs fed as chunked in the file, one byte at a time, and as one
chunk: any chunking of the same bytes must give the same events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamkit._framing.sse import ServerSentEvent, SSEDecoder

CORPUS = json.loads((Path(__file__).parent.parent / "data" / "sse_cases.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = CORPUS["cases"]


def _chunk_bytes(case: dict[str, Any]) -> list[bytes]:
    # "latin1-bytes": each code point U+0000..U+00FF stands for one raw byte.
    encoding = {"utf-8": "utf-8", "latin1-bytes": "latin-1"}[case["chunk_encoding"]]
    return [chunk.encode(encoding) for chunk in case["chunks"]]


def _feeds(case: dict[str, Any], mode: str) -> list[bytes]:
    chunks = _chunk_bytes(case)
    whole = b"".join(chunks)
    if mode == "as-given":
        return chunks
    if mode == "bytewise":
        return [whole[i : i + 1] for i in range(len(whole))]
    return [whole]


def _as_case_event(event: ServerSentEvent) -> dict[str, Any]:
    # The corpus lists retry only once a valid retry field has been seen.
    out: dict[str, Any] = {"event": event.event, "data": event.data, "id": event.id}
    if event.retry is not None:
        out["retry"] = event.retry
    return out


def test_corpus_is_complete() -> None:
    assert len(CASES) == 114
    assert len({case["name"] for case in CASES}) == 114
    assert "provenance" in CORPUS and "schema" in CORPUS


@pytest.mark.parametrize("mode", ["as-given", "bytewise", "one-chunk"])
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any], mode: str) -> None:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in _feeds(case, mode):
        events += decoder.feed(chunk)
    # The end-of-stream state is read before flush() (which resets only the
    # parse state) and must not change through it.
    final = {"last_event_id": decoder.last_event_id, "retry": decoder.retry}
    events += decoder.flush()

    assert [_as_case_event(e) for e in events] == case["events"]
    assert final == case["final"]
    assert {"last_event_id": decoder.last_event_id, "retry": decoder.retry} == case["final"]
    for event in events:
        assert type(event) is ServerSentEvent
        assert event.comment is None


@pytest.mark.parametrize("case", [c for c in CASES if c["chunk_encoding"] == "utf-8"], ids=lambda c: c["name"])
def test_case_fed_as_str(case: dict[str, Any]) -> None:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in case["chunks"]:
        events += decoder.feed(chunk)
    events += decoder.flush()
    assert [_as_case_event(e) for e in events] == case["events"]
