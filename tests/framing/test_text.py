"""LineDecoder and the incremental text codecs."""

from __future__ import annotations

import pytest

from streamkit._framing.errors import FrameTooLarge
from streamkit._framing.text import LineDecoder, TextDecoder, TextEncoder


def test_cr_at_chunk_end_ends_the_line_at_once() -> None:
    decoder = LineDecoder()
    assert decoder.feed("a\r") == ["a"]
    assert decoder.feed("\nb\r") == ["b"]  # the LF completes the CRLF, no empty line
    assert decoder.feed("\r") == [""]  # a second CR is a real (empty) line
    assert decoder.feed("\n") == []
    assert decoder.flush() == []


def test_all_line_ends_and_nothing_else() -> None:
    decoder = LineDecoder()
    assert decoder.feed("a\nb\r\nc\rd\u2028e\x85f\x0cg\n\n") == ["a", "b", "c", "d\u2028e\x85f\x0cg", ""]


def test_lines_across_chunks_and_flush() -> None:
    decoder = LineDecoder()
    assert decoder.feed("par") == []
    assert decoder.feed("tial") == []
    assert decoder.feed(" line\nnext") == ["partial line"]
    assert decoder.flush() == ["next"]
    assert decoder.flush() == []


def test_empty_chunk_keeps_a_pending_cr() -> None:
    decoder = LineDecoder()
    assert decoder.feed("a\r") == ["a"]
    assert decoder.feed("") == []
    assert decoder.feed("\nb\n") == ["b"]


def test_feed_rejects_bytes() -> None:
    with pytest.raises(TypeError, match="str"):
        LineDecoder().feed(b"x\n")  # type: ignore[arg-type]


class TestMaxLineSize:
    def test_at_the_limit(self) -> None:
        assert LineDecoder(max_line_size=3).feed("abc\n") == ["abc"]

    @pytest.mark.parametrize("chunk_size", [1, 2, 100])
    def test_long_line_raises_however_chunked(self, chunk_size: int) -> None:
        source = "ok\n" + "x" * 20 + "\nafter\n"
        decoder = LineDecoder(max_line_size=10)
        got: list[str] = []
        with pytest.raises(FrameTooLarge, match="max_line_size=10") as info:
            for i in range(0, len(source), chunk_size):
                got += decoder.feed(source[i : i + chunk_size])
        assert got + info.value.partial == ["ok"]

    def test_unterminated_line_in_one_chunk(self) -> None:
        with pytest.raises(FrameTooLarge) as info:
            LineDecoder(max_line_size=4).feed("ab\n" + "y" * 10)
        assert info.value.partial == ["ab"]

    def test_bad_limit(self) -> None:
        with pytest.raises(ValueError, match="max_line_size"):
            LineDecoder(max_line_size=0)


def test_text_decoder_split_multibyte() -> None:
    decoder = TextDecoder()
    encoded = "\u20ac\U0001f642".encode()
    text = "".join(decoder.feed(encoded[i : i + 1]) for i in range(len(encoded))) + decoder.flush()
    assert text == "\u20ac\U0001f642"


def test_text_decoder_is_strict_by_default() -> None:
    with pytest.raises(UnicodeDecodeError):
        TextDecoder().feed(b"\xff")
    decoder = TextDecoder()
    assert decoder.feed(b"ok\xe2\x82") == "ok"
    with pytest.raises(UnicodeDecodeError):
        decoder.flush()  # truncated sequence at the end
    assert TextDecoder(errors="replace").feed(b"a\xffb") == "a\ufffdb"


def test_text_decoder_other_encodings_and_reuse() -> None:
    decoder = TextDecoder("utf-16")
    encoded = "hi".encode("utf-16")
    assert decoder.feed(encoded[:3]) + decoder.feed(encoded[3:]) + decoder.flush() == "hi"
    assert decoder.feed(encoded) == "hi"  # BOM handled again after flush


def test_text_encoder() -> None:
    encoder = TextEncoder("utf-16")
    first, second = encoder.feed("a"), encoder.feed("b")
    assert (first + second).decode("utf-16") == "ab"
    assert len(first) == 4 and len(second) == 2  # one BOM
    assert encoder.flush() == b""
    with pytest.raises(UnicodeEncodeError):
        TextEncoder("ascii").feed("\u20ac")
    assert TextEncoder("ascii", errors="replace").feed("\u20ac") == b"?"
