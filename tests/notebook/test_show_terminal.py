"""``show`` outside a notebook: it prints, rate-limited, on the virtual clock (exact times)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import anyio
import pytest

import streamkit as sk
from streamkit.notebook import scheduled, show
from streamkit.testing import SourceTracker


class Recorder(io.StringIO):
    """A text file that remembers when each write happened."""

    def __init__(self, tty: bool = False) -> None:
        super().__init__()
        self.tty = tty
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((anyio.current_time(), text))
        return super().write(text)

    def isatty(self) -> bool:
        return self.tty


LETTERS = scheduled([(0.1, "a"), (0.2, "b"), (0.3, "c"), (1.0, "d"), (1.05, "e"), (3.0, "f")])


async def test_latest_is_refreshed_at_most_rate_times_a_second_and_ends_on_the_last_item() -> None:
    out = Recorder()
    await show(LETTERS, rate=2, file=out)
    # First item at once; then at most one refresh per 0.5 s, showing the latest item then.
    assert out.writes == [
        (0.1, "a\n"),
        (0.6, "c\n"),
        (1.1, "e\n"),
        (3.0, "f\n"),
        (3.0, "[ended: 6 items in 3.0 s]\n"),
    ]


async def test_the_last_item_before_a_pause_is_shown_when_the_period_ends() -> None:
    out = Recorder()
    await show(scheduled([(0.0, 1), (0.1, 2)], end=5.0), rate=1, file=out, status=False)
    assert out.writes == [(0.0, "1\n"), (1.0, "2\n")]


async def test_latest_on_a_terminal_rewrites_one_line() -> None:
    out = Recorder(tty=True)
    await show(scheduled([(0.0, "a"), (2.0, "b")]), file=out)
    assert out.getvalue() == "\r\x1b[Ka\r\x1b[Kb\r\x1b[Kb\n[ended: 2 items in 2.0 s]\n"


async def test_text_appends_what_is_new_and_decodes_split_utf8() -> None:
    out = Recorder()
    tokens = scheduled([(0.0, "Un "), (0.05, "bon "), (0.12, b"caf\xc3"), (0.15, b"\xa9"), (0.5, "!")])
    await show(tokens, mode="text", rate=10, file=out)
    assert out.writes == [
        (0.0, "Un "),
        (0.1, "bon "),
        (0.2, "café"),
        (0.5, "!"),
        (0.5, "\n[ended: 5 items in 0.5 s]\n"),
    ]


async def test_log_prints_new_lines_and_skips_what_exceeds_the_cap() -> None:
    out = Recorder()
    lines = scheduled([(n / 10, f"line {n}") for n in range(10)], end=2.0)
    await show(lines, mode="log", rate=1, max_lines=3, file=out)
    assert out.writes == [
        (0.0, "line 0\n"),
        (1.0, "... 6 lines skipped\nline 7\nline 8\nline 9\n"),
        (2.0, "[ended: 10 items in 2.0 s]\n"),
    ]


async def test_format_turns_items_into_text() -> None:
    out = Recorder()
    await show(sk.iterate([{"t": "a"}, {"t": "b"}]), mode="text", format=lambda chunk: chunk["t"], file=out, status=False)
    assert out.getvalue() == "ab\n"


async def test_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    await show(sk.iterate(["x", "y"]), mode="log")
    assert capsys.readouterr().out == "x\ny\n[ended: 2 items in 0.0 s]\n"


async def test_an_error_is_shown_then_raised_with_its_type() -> None:
    out = Recorder()

    def check(n: int) -> int:
        if n == 2:
            raise ValueError("two is not allowed")
        return n

    with pytest.raises(ValueError, match="two is not allowed"):
        await show(sk.interval(1) | sk.map(check), mode="log", file=out)
    assert out.getvalue() == "0\n1\n[error after 2 items in 3.0 s: ValueError: two is not allowed]\n"


async def test_cancelling_show_closes_the_run_and_says_stopped() -> None:
    out = Recorder()
    tracker = SourceTracker()
    with anyio.move_on_after(2.5):
        await show(tracker.track(sk.interval(1)), mode="log", file=out)
    tracker.assert_all_closed()
    assert out.getvalue() == "0\n1\n[stopped: 2 items in 2.5 s]\n"


async def test_a_format_that_fails_is_raised_once() -> None:
    out = Recorder()

    def bad(item: object) -> str:
        raise KeyError("no text here")

    with pytest.raises(KeyError, match="no text here"):
        await show(sk.iterate([1]), format=bad, file=out)


async def test_any_async_iterable_can_be_shown() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1
        yield 2

    out = Recorder()
    await show(numbers(), mode="log", file=out, status=False)
    assert out.getvalue() == "1\n2\n"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"mode": "html"}, ValueError, "mode=.*'latest', 'text', 'log'.*'html'"),
        ({"rate": 0}, ValueError, "rate"),
        ({"rate": float("inf")}, ValueError, "rate"),
        ({"rate": "fast"}, TypeError, "rate"),
        ({"max_lines": 0}, ValueError, "max_lines"),
        ({"format": "upper"}, TypeError, "format"),
        ({"status": "yes"}, TypeError, "status"),
    ],
)
async def test_bad_arguments_are_named(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        await show(sk.iterate([1]), file=io.StringIO(), **kwargs)  # type: ignore[arg-type]


async def test_text_mode_names_an_item_that_is_not_text() -> None:
    with pytest.raises(TypeError, match=r"mode='text'.*int.*format="):
        await show(sk.iterate([1, 2]), mode="text", file=io.StringIO())


async def test_a_format_must_return_text() -> None:
    with pytest.raises(TypeError, match="format= must return a str.*int"):
        await show(sk.iterate(["a"]), mode="log", format=len, file=io.StringIO())  # type: ignore[arg-type]


async def test_not_a_stream_is_refused() -> None:
    with pytest.raises(TypeError, match="async iterable"):
        await show([1, 2, 3], file=io.StringIO())  # type: ignore[arg-type]
