"""What observers need to follow one incident cheaply, whatever the number of old journals.

`OpenJournals.find` answers the open-session question (`cockpit.journal.is_open`)
from a cache keyed by each file's (inode, size, mtime): a journal is parsed once,
and again only when it grows; 300 old journals cost 300 ``stat`` calls, not 300
parses. Observers call it only when the lock does not name the driver's journal
(no driver, or a driver that died), at most every `RESCAN` seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.journal import RESUME_WINDOW, journals_of, load_journal
from cockpit.profile.model import Profile
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
