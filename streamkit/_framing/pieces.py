"""The pieces of one unfinished frame, held at a bounded cost per character."""

from __future__ import annotations

from typing import AnyStr, Final, Generic

__all__ = ["Pieces"]

# Pieces joined at a time. Each piece is an object of its own (about 40-80
# bytes of header), so a line arriving one character per read would
# otherwise cost some 50 times the characters it holds; joined in runs of
# 64, the headers add about one byte per character, and each character is
# copied at most once more than it would be anyway.
_RUN: Final = 64


class Pieces(Generic[AnyStr]):
    """Collect pieces to join later, without a copy per piece or a header per character.

    ``size`` is the length the joined result will have. Decoders compare it
    with their limit after each :meth:`add`.

    >>> p = Pieces("\\n")
    >>> p.add("one"), p.add("two")
    (3, 7)
    >>> p.take(), p.size, bool(p)
    ('one\\ntwo', 0, False)
    """

    __slots__ = ("parts", "size", "_sep", "_loose")

    def __init__(self, sep: AnyStr) -> None:
        self.parts: list[AnyStr] = []
        self.size = 0
        self._sep: AnyStr = sep
        self._loose = 0  # parts added since the last run was joined

    def __bool__(self) -> bool:
        return bool(self.parts)

    def add(self, piece: AnyStr) -> int:
        """Add ``piece``; return the joined size so far."""
        parts = self.parts
        self.size += len(piece) + (len(self._sep) if parts else 0)
        parts.append(piece)
        self._loose += 1
        if self._loose == _RUN:
            parts[-_RUN:] = [self._sep.join(parts[-_RUN:])]
            self._loose = 0
        return self.size

    def complete_lines(self, chunk: AnyStr, end: AnyStr) -> AnyStr | None:
        """Add ``chunk``; if it holds an ``end``, return all held up to its last one, keeping the rest.

        The decoders' line splitting: what is returned is whole lines (``end`` between them,
        not after the last), and the unfinished line stays held. For pieces joined with no
        separator.

        >>> p = Pieces("")
        >>> p.complete_lines("a", "\\n"), p.complete_lines("b\\nc\\nd", "\\n"), p.take()
        (None, 'ab\\nc', 'd')
        """
        cut = chunk.rfind(end)
        if cut < 0:
            if chunk:
                self.add(chunk)
            return None
        if self.parts:
            cut += self.size
            self.add(chunk)
            chunk = self.take()
        rest = chunk[cut + len(end) :]
        if rest:
            self.add(rest)
        return chunk[:cut]

    def take(self) -> AnyStr:
        """Return the pieces joined, and start empty again."""
        parts = self.parts
        joined = parts[0] if len(parts) == 1 else self._sep.join(parts)
        self.clear()
        return joined

    def clear(self) -> None:
        self.parts = []
        self.size = 0
        self._loose = 0
