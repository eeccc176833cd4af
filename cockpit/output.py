"""Bounds on command output, applied where it is read (the ssh line reader, the local step).

Output comes from outside and can be endless: one line without a newline, or
lines without end. Memory and the journal stay bounded because:

- `LineSplitter` turns chunks into lines of at most `MAX_LINE` characters: the
  first `MAX_LINE` characters of a longer line are passed on at once, marked
  `TRUNCATED`, and the rest of that line is dropped as it is read (never held);
- `Tail` keeps the last lines of one host's output, at most `MAX_HOST_CHARS`
  characters in all (and a number of lines): what a step result, a verify
  match or a sample holds, and what the journal's tails are cut from.

The whole output is not kept anywhere else.
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Callable, Iterator

MAX_LINE = 4096               # characters of one line kept
MAX_HOST_CHARS = 64 * 1024    # characters of one host's output kept per step
TRUNCATED = " … (truncated)"


class LineSplitter:
    """Feed text (or bytes: decoded as UTF-8, bad bytes replaced); ``emit`` gets whole, capped lines.

    Lines are split on ``\\n`` and passed on without it; ``close`` passes on a last
    line that had no newline.
    """

    def __init__(self, emit: Callable[[str], None], max_line: int = MAX_LINE) -> None:
        self._emit = emit
        self._max = max_line
        self._parts: list[str] = []
        self._size = 0
        self._dropping = False        # inside a line already passed on truncated
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: str | bytes) -> None:
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        start = 0
        while start <= len(text):
            nl = text.find("\n", start)
            piece = text[start:] if nl < 0 else text[start:nl]
            if not self._dropping:
                room = self._max - self._size
                if len(piece) > room:
                    self._parts.append(piece[:room])
                    self._emit("".join(self._parts) + TRUNCATED)
                    self._parts, self._size, self._dropping = [], 0, True
                elif piece:
                    self._parts.append(piece)
                    self._size += len(piece)
            if nl < 0:
                return
            if self._dropping:
                self._dropping = False
            else:
                self._emit("".join(self._parts))
            self._parts, self._size = [], 0
            start = nl + 1

    def close(self) -> None:
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self.feed(rest)
        if self._parts and not self._dropping:
            self._emit("".join(self._parts))
        self._parts, self._size, self._dropping = [], 0, False


class Tail:
    """The last lines appended, at most ``lines`` of them and ``max_chars`` characters in all."""

    def __init__(self, lines: int = 50, max_chars: int = MAX_HOST_CHARS) -> None:
        self._lines: deque[str] = deque()
        self._max_lines = lines
        self._max_chars = max_chars
        self._chars = 0
        self.dropped = 0              # lines dropped from the front

    def append(self, text: str) -> None:
        if len(text) > self._max_chars:
            text = text[: self._max_chars - len(TRUNCATED)] + TRUNCATED
        self._lines.append(text)
        self._chars += len(text)
        while len(self._lines) > self._max_lines or self._chars > self._max_chars:
            self._chars -= len(self._lines.popleft())
            self.dropped += 1

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def text(self) -> str:
        return "\n".join(self._lines)
