"""Browser visits of ``cockpit serve``, handed to the driver, who journals them.

Only the driver writes the journal. The server of ``cockpit serve`` (any member of
the bastion's group, or the same user) appends one JSON line per event to its own
file, ``<state>/visits/<profile key>.<pid>-<random>.jsonl`` (mode: only its writer
writes): ``{"event": "joined"|"left", "visit", "ts", "remote", "user_agent", "by",
"reason", "duration"}``. The driver (`VisitCollector`, on its clock) reads the new
lines of every such file of its profile and journals each once as
``observer_joined`` / ``observer_left``, with the visit's own time; events older
than the journal's start are not part of this incident and are passed over. Events
that happened while no driver ran are journalled by the next one (same journal on
resume). The access token never reaches these files: the server writes what it was
given here and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets as _secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cockpit.entries import EntryType
from cockpit.state import StateDir

MAX_LINE = 4096          # a visit line longer than this is damage: skipped
MAX_READ = 1 << 20       # bytes read per file per collection (the rest next time)
FIELD_MAX = 300          # a user agent is cut here (it is what the browser says, not trusted)
EVENTS: dict[str, EntryType] = {"joined": "observer_joined", "left": "observer_left"}


def visits_dir(state: StateDir) -> Path:
    return state.sub("visits")


def _clean(value: object, limit: int = FIELD_MAX) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text[:limit]


class VisitLog:
    """The server's side: one append-only file per ``cockpit serve`` process."""

    def __init__(self, state: StateDir, key: str) -> None:
        self.state = state
        self.path = visits_dir(state) / f"{key}.{os.getpid()}-{_secrets.token_hex(4)}.jsonl"
        fd = state.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, state.own_file_mode)
        self._fd: int | None = fd

    def write(self, event: str, visit: str, ts: float, **fields: Any) -> None:
        """Append one event (flushed at once; the driver may read it a moment later)."""
        if self._fd is None or event not in EVENTS:
            return
        rec: dict[str, Any] = {"event": event, "visit": _clean(visit, 64), "ts": float(ts)}
        for k, v in fields.items():
            if v is None:
                continue
            rec[k] = v if isinstance(v, int | float) and not isinstance(v, bool) else _clean(v)
        data = (json.dumps(rec, ensure_ascii=True, allow_nan=False) + "\n").encode()
        with contextlib.suppress(OSError):    # a full disk must not take the visitors' screens down
            os.write(self._fd, data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def parse(line: bytes) -> dict[str, Any] | None:
    """A checked visit event, or None (damage is skipped, never journalled)."""
    if len(line) > MAX_LINE:
        return None
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    if not isinstance(rec, dict) or rec.get("event") not in EVENTS or not isinstance(rec.get("visit"), str):
        return None
    ts = rec.get("ts")
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts) or not 0 < ts < 253_402_300_799:
        return None
    out: dict[str, Any] = {"event": rec["event"], "visit": _clean(rec["visit"], 64), "ts": float(ts)}
    for k in ("remote", "user_agent", "by", "reason"):
        if isinstance(rec.get(k), str):
            out[k] = _clean(rec[k])
    dur = rec.get("duration")
    if isinstance(dur, int | float) and not isinstance(dur, bool) and math.isfinite(dur) and 0 <= dur < 1e8:
        out["duration"] = float(dur)
    return out


class VisitCollector:
    """The driver's side: new visit events of this profile, each yielded once."""

    def __init__(self, state: StateDir, key: str, since: float, seen: Iterable[tuple[str, str]] = ()) -> None:
        self.state, self.key, self.since = state, key, since
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, bytes] = {}
        self.seen: set[tuple[str, str]] = set(seen)    # (visit, event) already journalled

    def collect(self) -> Iterator[dict[str, Any]]:
        try:
            folder = visits_dir(self.state)
            names = sorted(n for n in os.listdir(folder) if n.startswith(self.key + ".") and n.endswith(".jsonl"))
        except OSError:
            return
        for name in names:
            yield from self._read(folder / name)

    def _read(self, path: Path) -> Iterator[dict[str, Any]]:
        try:
            fd = self.state.open(path, os.O_RDONLY)
        except OSError:        # gone, or not trusted (a planted file): nothing from it
            return
        try:
            offset = self._offsets.get(path.name, 0)
            if os.fstat(fd).st_size <= offset:
                return
            os.lseek(fd, offset, os.SEEK_SET)
            data = self._partial.pop(path.name, b"") + os.read(fd, MAX_READ)
            self._offsets[path.name] = os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)
        *lines, rest = data.split(b"\n")
        if rest:
            self._partial[path.name] = rest[-MAX_LINE:]
        for line in lines:
            rec = parse(line)
            if rec is None or rec["ts"] < self.since:
                continue
            ident = (rec["visit"], rec["event"])
            if ident in self.seen:
                continue
            self.seen.add(ident)
            yield rec
