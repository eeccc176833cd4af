"""The driver's published feed: what it sampled, for observers (cockpit.published; the screen's typed feed is cockpit.feed).

The driver publishes a bounded snapshot to ``<state>/feeds/<key>-<uid>.json`` (its
path is in the lock's holder info): for each signal the last `FEED_POINTS` points of
every series and its freshness (``last_ok``, ``stale_since``, ``seq``), the last
`FEED_LINES` output lines of the running steps, the hosts each running step has
finished, and a heartbeat ``ts``. It is rewritten atomically (temporary file +
rename) at most every `WRITE_EVERY` seconds when something changed, and at least
every `HEARTBEAT` seconds, so its size is bounded whatever the incident's length.

Observers (`FeedReader`) stat the file every poll and read it only when it
changed; `FeedMirror` replays new samples into the observer's own `SeriesStore`
(through its public ``record``/``backfill``/``fail``), so panels and checks are
computed by the same code as the driver's, from the same samples, without a
single request to Prometheus, ``/healthz`` or SSH.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.profile.model import Profile
from cockpit.results import OutputLine
from cockpit.series import SeriesStore
from cockpit.state import StateDir, StateError, profile_key

FEED_POINTS = 120      # points per series in the feed (an observer starting late still gets a panel's worth)
FEED_LINES = 200       # output lines kept
LINE_CHARS = 500       # characters kept per output line
WRITE_EVERY = 0.2      # seconds: at most this often when something changed
HEARTBEAT = 1.0        # seconds: at least this often (observers tell a live driver from a gone one)
MAX_FEED_BYTES = 8 << 20


def feed_path(profile: Profile, state: StateDir) -> Path:
    return state.feeds / f"{profile_key(profile)}-{os.geteuid()}.json"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass
class _Running:
    started: float
    hosts: list[str]
    done: dict[str, str] = field(default_factory=dict)   # host -> state


class FeedWriter:
    """The driver side: collects what changed and publishes the snapshot."""

    def __init__(self, profile: Profile, state: StateDir, store: SeriesStore,
                 redact: Callable[[str], str], now: Callable[[], float] = time.time) -> None:
        self.profile = profile
        self.state = state
        self.store = store
        self.redact = redact
        self.now = now
        self.path = feed_path(profile, state)
        self._lines: deque[list[Any]] = deque(maxlen=FEED_LINES)
        self._line_seq = 0
        self._running: dict[str, _Running] = {}
        self._dirty = True
        self._last_write = 0.0
        self.writes = 0
        self.closed = False

    # -- what the controller reports ---------------------------------------------------------
    def output(self, line: OutputLine) -> None:
        self._line_seq += 1
        text = self.redact(line.text)[:LINE_CHARS]
        self._lines.append([self._line_seq, line.ts, line.step_id, line.host, line.stream, text])
        self._dirty = True

    def step_started(self, step_id: str, started: float, hosts: list[str]) -> None:
        self._running[step_id] = _Running(started, list(hosts))
        self._dirty = True

    def host_done(self, step_id: str, host: str, state: str) -> None:
        run = self._running.get(step_id)
        if run is not None:
            run.done[host] = state
            self._dirty = True

    def step_ended(self, step_id: str) -> None:
        self._running.pop(step_id, None)
        self._dirty = True

    def changed(self) -> None:
        self._dirty = True

    # -- publishing ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        now = self.now()
        signals: dict[str, Any] = {}
        for sid in self.store.signal_ids():
            view = self.store.view(sid, now)
            signals[sid] = {
                "series": {label: [[ts, _finite(v)] for ts, v in pts[-FEED_POINTS:]]
                           for label, pts in view.series.items()},
                "current": {label: _finite(v) for label, v in view.current.items()},
                "last_ok": view.last_ok, "seq": view.seq,
                "stale_since": view.stale_since, "stale_reason": view.stale_reason,
                "last_error": view.last_error,
            }
        return {
            "v": 1, "ts": now, "pid": os.getpid(), "uid": os.geteuid(),
            "signals": signals,
            "lines": list(self._lines),
            "running": {sid: {"started": r.started, "hosts": r.hosts, "done": r.done}
                        for sid, r in self._running.items()},
        }

    def publish(self, force: bool = False) -> bool:
        """Write the snapshot when something changed (or the heartbeat is due); True if written."""
        if self.closed:
            return False
        t = time.monotonic()
        due = t - self._last_write >= HEARTBEAT
        if not (force or due or (self._dirty and t - self._last_write >= WRITE_EVERY)):
            return False
        data = json.dumps(self.snapshot(), separators=(",", ":"), allow_nan=False).encode()
        self.state.write_atomic(self.path, data)
        self._dirty = False
        self._last_write = t
        self.writes += 1
        return True

    async def run(self, tick: float = 0.1) -> None:
        """Publish until cancelled (a failed write is retried on the next tick)."""
        while True:
            try:
                self.publish()
            except OSError:
                pass
            await asyncio.sleep(tick)

    def close(self) -> None:
        """Stop publishing and remove the feed (the lock's release says the driver left)."""
        self.closed = True
        try:
            self.path.unlink()
        except OSError:
            pass


class FeedReader:
    """The observer side: the feed's latest snapshot, read only when the file changed."""

    def __init__(self, state: StateDir, path: Path) -> None:
        self.state = state
        self.path = path
        self._sig: tuple[int, int, int] | None = None
        self.last: dict[str, Any] | None = None
        self.reads = 0

    def poll(self) -> dict[str, Any] | None:
        """The new snapshot, or None when unchanged, absent or unreadable."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if sig == self._sig:
            return None
        try:
            raw = self.state.read(self.path, MAX_FEED_BYTES)
        except (StateError, OSError):
            return None
        if raw is None:
            return None
        self._sig = sig
        self.reads += 1
        try:
            snap = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(snap, dict) or not isinstance(snap.get("ts"), int | float):
            return None
        self.last = snap
        return snap


def _num(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


class FeedMirror:
    """Replays a driver's snapshots into an observer's store, and yields its new output lines."""

    def __init__(self, store: SeriesStore) -> None:
        self.store = store
        self._seq: dict[str, int] = {}
        self._last_ts: dict[tuple[str, str], float] = {}
        self._failed: dict[str, float] = {}
        self._line_seq = 0
        self._source: tuple[object, object] | None = None

    def apply(self, snap: dict[str, Any]) -> tuple[list[str], list[OutputLine]]:
        """(signal ids that changed, new output lines)."""
        changed: list[str] = []
        source = (snap.get("uid"), snap.get("pid"))
        if source != self._source:          # another driver (a handoff, a new run): its own numbering
            self._source, self._line_seq, self._seq = source, 0, {}
        signals = snap.get("signals")
        known = set(self.store.signal_ids())
        if isinstance(signals, dict):
            for sid, data in signals.items():
                if sid in known and isinstance(data, dict) and self._signal(sid, data):
                    changed.append(sid)
        lines: list[OutputLine] = []
        raw_lines = snap.get("lines")
        if isinstance(raw_lines, list):
            for item in raw_lines:
                if not (isinstance(item, list) and len(item) == 6 and isinstance(item[0], int)):
                    continue
                seq, ts, step, host, stream, text = item
                if seq <= self._line_seq:
                    continue
                self._line_seq = seq
                lines.append(OutputLine(str(step), str(host), str(stream), str(text), _num(ts) or 0.0))
        return changed, lines

    def _signal(self, sid: str, data: dict[str, Any]) -> bool:
        seq = data.get("seq")
        seq = seq if isinstance(seq, int) else 0
        changed = False
        given = data.get("series")
        series: dict[str, Any] = given if isinstance(given, dict) else {}
        last_ok = _num(data.get("last_ok"))
        points: dict[str, list[tuple[float, float]]] = {}
        for label, pts in series.items():
            if not isinstance(pts, list):
                continue
            newest = self._last_ts.get((sid, label), float("-inf"))
            fresh = [(float(p[0]), float(p[1])) for p in pts
                     if isinstance(p, list) and len(p) == 2 and _num(p[0]) is not None and _num(p[1]) is not None
                     and float(p[0]) > newest and float(p[0]) != last_ok]
            if fresh:
                points[str(label)] = fresh
                self._last_ts[(sid, str(label))] = max(ts for ts, _ in fresh)
        if points:
            self.store.backfill(sid, points)
            changed = True
        if seq != self._seq.get(sid) and last_ok is not None:
            now_given = data.get("current")
            current: dict[str, Any] = now_given if isinstance(now_given, dict) else {}
            values = {str(k): float(v) if _num(v) is not None else float("nan") for k, v in current.items()}
            self.store.record(sid, values, last_ok)
            for label in values:
                key = (sid, label)
                self._last_ts[key] = max(self._last_ts.get(key, float("-inf")), last_ok)
            self._seq[sid] = seq
            changed = True
        stale_since = _num(data.get("stale_since"))
        error = data.get("last_error")
        if (stale_since is not None and isinstance(error, str) and error == data.get("stale_reason")
                and self._failed.get(sid) != stale_since):
            self.store.fail(sid, stale_since, error)   # the driver's source failed: same reason here
            self._failed[sid] = stale_since
            changed = True
        return changed


def heartbeat(state: StateDir, path: Path, pid: int | None = None) -> float | None:
    """The last time a driver's feed says it was alive (its snapshot's ``ts``), when the file is still
    there (a driver killed with SIGKILL leaves it) and, with ``pid``, was written by that process."""
    snap = FeedReader(state, path).poll()
    if snap is None or (pid is not None and snap.get("pid") != pid):
        return None
    ts = _num(snap.get("ts"))
    return ts if ts is not None and math.isfinite(ts) else None

