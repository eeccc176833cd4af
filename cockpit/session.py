"""The rollback state, replayed from journal entries.

The journal is the truth; `Session` is what it says so far: used to resume a
driver after a restart, by observers following a driver's journal
(`JournalFollower`), by the guard (which steps succeeded) and by the report.
It folds entries already checked against their kinds (`cockpit.entries`): the
readers (`load_journal`, `JournalFollower`) skip the ones that are not.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.entries import ATTACH
from cockpit.journal import MAX_ENTRY_BYTES, parse_line

READ_MAX = 4 << 20   # bytes a follower reads per poll


@dataclass
class StepRecord:
    """The latest run of one step, as journalled."""

    step_id: str
    state: str                       # running | ok | failed | partial | cancelled | refused
    started: float
    ended: float | None = None
    command: str | None = None
    hosts: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    override: bool = False


@dataclass
class Session:
    session_id: str | None = None
    profile: str | None = None
    environment: str | None = None
    rto_budget: float | None = None
    driver: str | None = None        # user@host of the current (or last) driver
    driving: bool = False            # a driver is attached (no session_end after its start/resume)
    rollback_started: float | None = None
    rollback_ended: float | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    ticks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # step id -> [{ts, note, by}]
    checks: dict[str, str] = field(default_factory=dict)                   # check id -> status
    refusals: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    connections: dict[str, str] = field(default_factory=dict)             # host -> last event
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)    # step id -> its step_process
    abandoned: bool = False          # closed by `cockpit abandon`
    entries: int = 0

    @classmethod
    def from_entries(cls, entries: Iterable[dict[str, Any]]) -> Session:
        s = cls()
        for e in entries:
            s.apply(e)
        return s

    def apply(self, e: dict[str, Any]) -> None:
        """Fold one journal entry into the state (unknown types are ignored)."""
        self.entries += 1
        t = e.get("type")
        ts = float(e.get("ts", 0.0))
        if t in ATTACH:
            self.session_id = e.get("session", self.session_id)
            self.profile = e.get("profile", self.profile)
            self.environment = e.get("environment", self.environment)
            self.rto_budget = e.get("rto_budget", self.rto_budget)
            if e.get("mode", "driver") == "driver" and e.get("user"):
                self.driver = f"{e['user']}@{e.get('host', '?')}"
                self.driving = True
        elif t == "session_end":
            self.driving = False
        elif t == "session_abandoned":
            self.driving = False
            self.abandoned = True
        elif t == "rollback_start":
            if self.rollback_started is None or self.rollback_ended is not None:
                self.rollback_started, self.rollback_ended = ts, None
        elif t == "rollback_end":
            if self.rollback_started is not None and self.rollback_ended is None:
                self.rollback_ended = ts
        elif t == "step_start":
            sid = str(e.get("step"))
            self.steps[sid] = StepRecord(sid, "running", ts, command=e.get("command"),
                                         override=bool(e.get("override")))
            self.processes.pop(sid, None)
        elif t == "step_process":
            self.processes[str(e.get("step"))] = e
        elif t == "step_end":
            sid = str(e.get("step"))
            rec = self.steps.get(sid) or StepRecord(sid, "running", float(e.get("started", ts)))
            rec.state = str(e.get("state", "failed"))
            died = e.get("ended")   # an interrupted step: when it died, not when that was written
            rec.ended = float(died) if isinstance(died, int | float) and not isinstance(died, bool) else ts
            rec.hosts = list(e.get("hosts", []))
            rec.reason = e.get("reason")
            self.steps[sid] = rec
        elif t == "manual_tick":
            self.ticks.setdefault(str(e.get("step")), []).append(
                {"ts": ts, "note": e.get("note", ""), "by": e.get("by")})
        elif t == "check_transition":
            self.checks[str(e.get("check"))] = str(e.get("to"))
        elif t == "guard_refused":
            self.refusals.append(e)
        elif t == "guard_override":
            self.overrides.append(e)
        elif t == "connection":
            self.connections[str(e.get("host"))] = str(e.get("event"))

    @property
    def rollback_running(self) -> bool:
        return self.rollback_started is not None and self.rollback_ended is None

    def rto_elapsed(self, now: float) -> float | None:
        """Seconds since rollback start (frozen at its end); None before it starts."""
        if self.rollback_started is None:
            return None
        return (self.rollback_ended if self.rollback_ended is not None else now) - self.rollback_started

    @property
    def done(self) -> frozenset[str]:
        """Steps whose latest run succeeded, and manual steps ticked."""
        return frozenset({sid for sid, r in self.steps.items() if r.state == "ok"} | set(self.ticks))

    @property
    def running(self) -> frozenset[str]:
        """Steps with a step_start and no step_end yet."""
        return frozenset(sid for sid, r in self.steps.items() if r.state == "running")

    def state_of(self, step_id: str) -> str:
        if step_id in self.ticks and step_id not in self.steps:
            return "ok"
        rec = self.steps.get(step_id)
        return rec.state if rec else "idle"


class JournalFollower:
    """New whole entries of a journal another process appends to (polls the size; no inotify)."""

    def __init__(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self._partial = b""
        self._skip = False              # inside a line over MAX_ENTRY_BYTES

    def poll(self) -> list[dict[str, Any]]:
        """Entries appended since the last call (a line still being written waits for its newline).

        Reads at most `READ_MAX` bytes per call; a line longer than the journal's
        `MAX_ENTRY_BYTES` is skipped without being held.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:          # truncated (a resume dropped a cut line): re-read its end
            self.offset, self._partial, self._skip = size, b"", False
        if size == self.offset:
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(min(size - self.offset, READ_MAX))
        self.offset += len(data)
        data = self._partial + data
        *lines, rest = data.split(b"\n")
        if self._skip:
            if lines:
                lines.pop(0)            # the end of the over-long line
                self._skip = False
            else:
                rest = b""
        if len(rest) > MAX_ENTRY_BYTES:
            rest, self._skip = b"", True
        self._partial = rest
        out: list[dict[str, Any]] = []
        for line in lines:
            entry, _why = parse_line(line)
            if entry is not None:
                out.append(entry)
        return out

    async def follow(self, interval: float = 0.25) -> AsyncIterator[dict[str, Any]]:
        """Yield entries forever as they are appended (cancel the consumer to stop)."""
        while True:
            for entry in self.poll():
                yield entry
            await asyncio.sleep(interval)
