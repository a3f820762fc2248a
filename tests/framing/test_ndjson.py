"""NDJSONDecoder and encode_ndjson."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from streamkit._framing.errors import FramingError, FrameTooLarge, NDJSONError
from streamkit._framing.ndjson import NDJSONDecoder, encode_ndjson


def _decode(chunks: Sequence[bytes | bytearray | memoryview | str], **kwargs: Any) -> list[Any]:
    decoder = NDJSONDecoder(**kwargs)
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def test_values_blank_lines_crlf_and_unterminated_last_line() -> None:
    stream = b'{"a": 1}\r\n\r\n  \t\n[1, 2]\n"s"\r\n\n3'
    assert _decode([stream]) == [{"a": 1}, [1, 2], "s", 3]
    assert _decode([stream[i : i + 1] for i in range(len(stream))]) == [{"a": 1}, [1, 2], "s", 3]


def test_str_chunks_and_split_utf8() -> None:
    assert _decode(['{"k": "caf\u00e9"}\n', "[]"]) == [{"k": "caf\u00e9"}, []]
    assert _decode([b'"\xe2\x82', b'\xac"\n']) == ["\u20ac"]


def test_unicode_separators_are_not_line_ends() -> None:
    assert _decode(['"a\u2028b\x85c"\n']) == ["a\u2028b\x85c"]


def test_malformed_line_names_its_line_number() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"1\n\n2\n") == [1, 2]  # lines 1-3
    with pytest.raises(NDJSONError, match="line 5") as info:
        decoder.feed(b"3\n{oops}\n4\n")
    error = info.value
    assert error.line_number == 5
    assert error.line == "{oops}"
    assert isinstance(error.__cause__, json.JSONDecodeError)
    assert isinstance(error, FramingError) and isinstance(error, ValueError)
    # Values decoded before the bad line are not lost.
    assert error.partial == [3]


def test_line_numbers_count_across_chunks_and_at_flush() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b"1\n2")
    decoder.feed(b"\n\n")
    decoder.feed(b"nope")
    with pytest.raises(NDJSONError, match="line 4") as info:
        decoder.flush()
    assert info.value.line_number == 4


def test_invalid_utf8_is_a_malformed_line() -> None:
    with pytest.raises(NDJSONError, match=r"line 2: not UTF-8") as info:
        _decode([b'1\n"\xff"\n'])
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_long_bad_line_is_shortened_in_the_message() -> None:
    with pytest.raises(NDJSONError) as info:
        _decode([b"x" * 1000 + b"\n"])
    assert len(str(info.value)) < 200
    assert info.value.line.endswith("...")


def test_skip_logs_and_continues(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="streamkit"):
        assert _decode([b"1\nbad\n2\n{\n3"], on_error="skip") == [1, 2, 3]
    messages = [r.getMessage() for r in caplog.records if r.name == "streamkit"]
    assert len(messages) == 2
    assert "line 2" in messages[0] and "line 4" in messages[1]


def test_callable_policy_gets_the_error() -> None:
    seen: list[NDJSONError] = []
    assert _decode([b"1\nbad\n2\n"], on_error=seen.append) == [1, 2]
    assert [(e.line_number, e.line) for e in seen] == [(2, "bad")]


def test_callable_policy_may_raise_to_stop() -> None:
    def stop(error: NDJSONError) -> None:
        raise error

    with pytest.raises(NDJSONError, match="line 2") as info:
        _decode([b"1\nbad\n2\n"], on_error=stop)
    assert info.value.partial == [1]


def test_custom_loads() -> None:
    calls: list[str] = []

    def loads(text: str) -> Any:
        calls.append(text)
        return json.loads(text)

    assert _decode([b"1\r\n2\n", bytearray(b"3\n"), memoryview(b"4")], loads=loads) == [1, 2, 3, 4]
    assert calls == ["1", "2", "3", "4"]


def test_orjson_loads_if_available() -> None:
    orjson = pytest.importorskip("orjson")
    assert _decode([b'{"a": [1]}\n'], loads=orjson.loads) == [{"a": [1]}]
    with pytest.raises(NDJSONError, match="line 1"):
        _decode([b"{\n"], loads=orjson.loads)


class TestMaxLineSize:
    def test_at_the_limit_is_fine(self) -> None:
        assert _decode([b'"' + b"x" * 8 + b'"\n'], max_line_size=10) == ["x" * 8]

    @pytest.mark.parametrize("chunk_size", [1, 3, 1000])
    def test_long_line_raises_however_chunked(self, chunk_size: int) -> None:
        stream = b"1\n" + b'"' + b"x" * 50 + b'"\n2\n'
        chunks: list[bytes | str] = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
        with pytest.raises(FrameTooLarge, match="line 2 exceeds max_line_size=10") as info:
            _decode(chunks, max_line_size=10)
        assert info.value.limit == 10

    def test_raises_even_under_skip(self) -> None:
        with pytest.raises(FrameTooLarge):
            _decode([b"1" * 100], max_line_size=10, on_error="skip")

    def test_partial_values_are_kept(self) -> None:
        with pytest.raises(FrameTooLarge) as info:
            NDJSONDecoder(max_line_size=10).feed(b"1\n2\n" + b"3" * 20)
        assert info.value.partial == [1, 2]


def test_flush_resets_line_numbers() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"1\n2\n") == [1, 2]
    assert decoder.flush() == []
    with pytest.raises(NDJSONError, match="line 1"):
        decoder.feed(b"x\n")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="on_error"):
        NDJSONDecoder(on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_line_size"):
        NDJSONDecoder(max_line_size=0)
    with pytest.raises(TypeError, match="bytes or str"):
        NDJSONDecoder().feed(1)  # type: ignore[arg-type]


def test_encode_ndjson() -> None:
    assert encode_ndjson({"a": "x\ny\u2028"}) == b'{"a": "x\\ny\\u2028"}\n'
    assert encode_ndjson(None) == b"null\n"
    assert encode_ndjson([1], dumps=lambda v: json.dumps(v, separators=(",", ":"))) == b"[1]\n"


def test_encode_ndjson_with_bytes_dumps() -> None:
    orjson = pytest.importorskip("orjson")
    assert encode_ndjson({"a": 1}, dumps=orjson.dumps) == b'{"a":1}\n'
    with pytest.raises(ValueError, match="line break"):
        encode_ndjson({"a": 1}, dumps=lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2))


def test_encode_ndjson_refuses_to_emit_a_broken_line() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_ndjson({"a": 1}, dumps=lambda v: json.dumps(v, indent=2))
    with pytest.raises(ValueError, match="line break"):
        encode_ndjson(1, dumps=lambda v: "1\r")
    with pytest.raises(TypeError):
        encode_ndjson(object())
