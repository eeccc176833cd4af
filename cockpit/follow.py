"""What observers need to follow one incident cheaply, whatever the number of old journals,
and the output of the driver's running steps from its recordings (`RecordingFollower`).

`OpenJournals.find` answers the open-session question (`cockpit.journal.is_open`)
from a cache keyed by each file's (inode, size, mtime): a journal is parsed once,
and again only when it grows; 300 old journals cost 300 ``stat`` calls, not 300
parses. Observers call it only when the lock does not name the driver's journal
(no driver, or a driver that died), at most every `RESCAN` seconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.journal import RESUME_WINDOW, journals_of, load_journal
from cockpit.profile.model import Profile
from cockpit.results import OutputLine
from cockpit.state import StateDir, StateError

RESCAN = 2.0   # seconds between scans for a new open journal when no driver names one


@dataclass(frozen=True)
class _Summary:
    """What the open-session rule needs from one journal."""

    rollback_open: bool
    attached: bool
    active: bool
    last_ts: float | None
    empty: bool

    def open(self, now: float) -> bool:
        if self.empty:
            return False
        if self.rollback_open or self.attached:
            return True
        return self.active and self.last_ts is not None and now - self.last_ts < RESUME_WINDOW


_ACTIVITY = frozenset({"rollback_start", "rollback_end", "step_end", "manual_tick"})


def summarize(path: Path) -> _Summary:
    entries = load_journal(path).entries
    rollback_open = attached = active = False
    for e in entries:
        t = e.get("type")
        active = active or t in _ACTIVITY
        if t == "rollback_start":
            rollback_open = True
        elif t == "rollback_end":
            rollback_open = False
        elif t in ("session_start", "session_resume"):
            attached = True
        elif t == "session_end":
            attached = False
    last = entries[-1].get("ts") if entries else None
    return _Summary(rollback_open, attached, active, float(last) if isinstance(last, int | float) else None,
                    not entries)


class OpenJournals:
    """The newest open journal of a profile, with parse results cached per file version."""

    def __init__(self, profile: Profile, state: StateDir) -> None:
        self.profile = profile
        self.state = state
        self._cache: dict[Path, tuple[tuple[int, int, int], _Summary]] = {}
        self.parses = 0

    def find(self, now: float) -> Path | None:
        paths = journals_of(self.profile, self.state)
        for path in set(self._cache) - set(paths):
            del self._cache[path]
        for path in reversed(paths):
            try:
                st = os.lstat(path)
            except OSError:
                continue
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
            cached = self._cache.get(path)
            if cached is None or cached[0] != sig:
                try:
                    self.state.check_path(path)
                    summary = summarize(path)
                except (StateError, OSError):
                    continue        # a planted file is never followed
                self.parses += 1
                cached = self._cache[path] = (sig, summary)
            if cached[1].open(now):
                return path
        return None


def inside(raw: object, folder: Path) -> Path | None:
    """``raw`` as a path when it names a file directly in ``folder`` (lock info is not trusted blindly)."""
    if not isinstance(raw, str) or not raw:
        return None
    path = Path(raw)
    if path.parent != folder or path.name.startswith("."):
        return None
    return path


READ_CHUNK = 1 << 20     # bytes read of one recording per look
LINE_CHARS = 4096        # characters kept of one output line (as the runner's LineSplitter)


@dataclass
class _Cast:
    path: Path
    offset: int = 0
    partial: bytes = b""
    header: bool = False
    host: str = "?"


class RecordingFollower:
    """Observers: the output of the driver's running steps, read from its recordings as they are written.

    The driver records every line of every host (`cockpit.recording`): following those files by
    offset gives an observer the whole output, in order, whatever its rate (the published feed keeps
    only its last lines). A run is followed from its ``step_start`` (``recording``: the run's folder)
    to its ``step_end``, read to its end then (also a run that started and ended between two looks); a
    run that had already ended when this observer first read the journal is not replayed (its
    journalled tail stands for it). Files are checked like every file of
    the state directory (`StateDir.check_path`, ``O_NOFOLLOW``).
    """

    def __init__(self, state: StateDir, journal: Path, *, backlog: bool = True) -> None:
        """``backlog``: the journal existed when this observer started (its first look is history).
        A journal first seen later is live from its first line: a driver that started and finished
        a step between two looks still has its output told."""
        from cockpit.recording import folder_for

        self.state = state
        self.journal = journal
        self.folder = folder_for(journal)
        self._runs: dict[str, tuple[Path, float, dict[Path, _Cast]]] = {}   # step -> (run folder, start, casts)
        self.steps: set[str] = set()   # steps whose latest run is followed here (their feed lines are not needed)
        self._caught_up = not backlog  # the journal's backlog (read at the first look) is behind us

    def entries(self, entries: list[dict[str, Any]]) -> list[OutputLine | dict[str, Any]]:
        """Fold new journal entries (runs start and end): the entries and the lines recorded since the last
        look, in the order to tell them (a step's last lines before its ``step_end``, new lines last)."""
        out: list[OutputLine | dict[str, Any]] = []
        fresh: set[str] = set()
        for e in entries:
            step = str(e.get("step"))
            if e.get("type") == "step_start":
                rel = e.get("recording")
                self._runs.pop(step, None)
                self.steps.discard(step)
                run = self.journal.parent / rel if isinstance(rel, str) else None
                if run is not None and run.parent == self.folder and not run.name.startswith("."):
                    self._runs[step] = (run, float(e.get("ts", 0.0)), {})
                    fresh.add(step)
                    if os.access(run, os.R_OK | os.X_OK):   # else (another user's 0700 folder): the feed's lines
                        self.steps.add(step)
            elif e.get("type") == "step_end" and step in self._runs:
                if self._caught_up or step not in fresh:   # live (even if it started and ended between two
                    out += self._read(step)                # looks): read it to its end; the backlog's old
                del self._runs[step]                       # runs are not replayed
            out.append(e)
        self._caught_up = True
        return out + self.poll()

    def poll(self) -> list[OutputLine]:
        out: list[OutputLine] = []
        for step in list(self._runs):
            out += self._read(step)
        return out

    def _read(self, step: str) -> list[OutputLine]:
        run, started, casts = self._runs[step]
        out: list[OutputLine] = []
        if step not in self.steps:
            return out
        try:
            found = sorted(run.glob("*.cast"))
        except OSError:
            return out
        for path in found:
            cast = casts.setdefault(path, _Cast(path))
            try:
                if os.lstat(path).st_size <= cast.offset:
                    continue
                self.state.check_path(path)
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except (OSError, StateError):
                continue
            try:
                data = os.pread(fd, READ_CHUNK, cast.offset)
            except OSError:
                continue
            finally:
                os.close(fd)
            cast.offset += len(data)
            *lines, cast.partial = (cast.partial + data).split(b"\n")
            if len(cast.partial) > READ_CHUNK:
                cast.partial = b""      # a line over the chunk: never whole here, dropped
            for raw in lines:
                line = self._event(cast, raw, step, started)
                if line is not None:
                    out.append(line)
        out.sort(key=lambda line: line.ts)
        return out

    def _event(self, cast: _Cast, raw: bytes, step: str, started: float) -> OutputLine | None:
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        if not cast.header:
            cast.header = True
            title = str(obj.get("title") or "") if isinstance(obj, dict) else ""
            cast.host = title.split(" on ", 1)[1] if " on " in title else cast.path.stem
            return None
        if not (isinstance(obj, list) and len(obj) == 3 and obj[1] == "o" and isinstance(obj[2], str)
                and isinstance(obj[0], int | float)):
            return None
        text = obj[2].removesuffix("\r\n").replace("\r\n", "\n")
        return OutputLine(step, cast.host, "stdout", text[:LINE_CHARS], started + float(obj[0]))
