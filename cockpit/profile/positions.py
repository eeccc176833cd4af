"""Where each key of a TOML document is: ``tomllib`` gives values, not line numbers.

:func:`key_lines` runs a small recursive-descent scan over a document that
``tomllib`` has already accepted, recording the line of every table header and
every key, including keys of inline tables and elements of (multi-line)
arrays. Paths are tuples such as ``("step", 3, "verify", "command")`` where
integers index arrays of tables and arrays. It never raises: on anything it
does not understand it stops and keeps what it found.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class _Stop(Exception):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}  # array-of-tables path -> number of elements seen

    # -- low level -----------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += n

    def eof(self) -> bool:
        return self.i >= len(self.s)

    def skip_ws(self, newlines: bool = False) -> None:
        while not self.eof():
            c = self.peek()
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while not self.eof() and self.peek() != "\n":
                    self.advance()
            else:
                return

    def record(self, path: Path) -> None:
        self.lines.setdefault(path, self.line)

    # -- keys and strings ----------------------------------------------------------
    def string(self) -> str:
        for q in ('"""', "'''"):
            if self.peek(3) == q:
                self.advance(3)
                end = self.s.find(q, self.i)
                if end < 0:
                    raise _Stop
                # a closing run may hold up to two extra quotes that belong to the string
                while self.s[end + 3 : end + 4] == q[0]:
                    end += 1
                text = self.s[self.i : end]
                self.advance(end + 3 - self.i)
                return text
        q = self.peek()
        self.advance()
        out = []
        while not self.eof() and self.peek() != q:
            if self.peek() == "\n":
                raise _Stop
            if q == '"' and self.peek() == "\\":
                out.append(self.peek(2))
                self.advance(2)
                continue
            out.append(self.peek())
            self.advance()
        self.advance()
        return "".join(out)

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                m = _BARE.match(self.s, self.i)
                if not m:
                    raise _Stop
                parts.append(m.group(0))
                self.advance(m.end() - self.i)
            self.skip_ws()
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    # -- values --------------------------------------------------------------------
    def value(self, path: Path) -> None:
        self.skip_ws()
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.advance()
            idx = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.record((*path, idx))
                self.value((*path, idx))
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.advance()
                    idx += 1
                elif self.peek() == "]":
                    self.advance()
                    return
                else:
                    raise _Stop
        elif c == "{":
            self.advance()
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "}":
                    self.advance()
                    return
                self.keyval(path)
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.advance()
                elif self.peek() == "}":
                    self.advance()
                    return
                else:
                    raise _Stop
        else:
            m = re.compile(r"[^,\]\}\s#]+").match(self.s, self.i)
            if not m:
                raise _Stop
            self.advance(m.end() - self.i)
            # dates with a time after a space: "1979-05-27 07:32:00"
            m2 = re.compile(r" \d\d:\d\d[^,\]\}\s#]*").match(self.s, self.i)
            if m2:
                self.advance(m2.end() - self.i)

    def keyval(self, table: Path) -> None:
        parts = self.key()
        for n in range(1, len(parts) + 1):
            self.record((*table, *parts[:n]))
        self.skip_ws()
        if self.peek() != "=":
            raise _Stop
        self.advance()
        self.value((*table, *parts))

    # -- tables --------------------------------------------------------------------
    def resolve(self, parts: tuple[str, ...]) -> Path:
        """A header's dotted name as a path, indexing arrays of tables at their latest element."""
        out: Path = ()
        for p in parts:
            out = (*out, p)
            if out in self.arrays:
                out = (*out, self.arrays[out] - 1)
        return out

    def header(self) -> Path:
        array = self.peek(2) == "[["
        self.advance(2 if array else 1)
        parts = self.key()
        self.advance(2 if array else 1)
        if array:
            base = (*self.resolve(parts[:-1]), parts[-1])
            n = self.arrays.get(base, 0)
            self.arrays[base] = n + 1
            table: Path = (*base, n)
        else:
            table = self.resolve(parts)
        for n in range(1, len(table) + 1):
            self.record(table[:n])
        return table

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_ws(newlines=True)
            if self.eof():
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.keyval(table)


def key_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every table header, key and array element found in ``text``."""
    sc = _Scanner(text)
    try:
        sc.document()
    except (_Stop, IndexError):
        pass
    return sc.lines


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of ``path``, or of its nearest enclosing table or key; 1 when nothing is known."""
    for n in range(len(path), 0, -1):
        hit = lines.get(path[:n])
        if hit is not None:
            return hit
    return 1
