"""`cockpit replay`: a recorded incident played back through the same screen, read-only.

What was recorded during the incident (see `cockpit.recording`), read back:

- the journal: the session (steps, ticks, the RTO clock), check transitions, guard decisions;
- ``samples.jsonl``: every poll of every signal the panels drew, replayed into a real
  `SeriesStore` (so a panel is drawn, and judged stale or fresh, by the same code as live);
- the asciicast recordings: every output line of every step on every host, at its time.

`load_incident` reads them once and says what is missing or truncated (never raises on
damage). `ReplayFeed` is a `cockpit.feed.Feed` positioned at one instant of the incident:
`seek(t)` moves it; forward it tells its subscribers what happened in between (output
lines, journal entries, new samples, check transitions) exactly as a live feed would, so
the app draws a replay with the code that draws a live incident. It has nothing to fire,
tick or approve with: it holds no controller, takes no lock and writes nothing.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cockpit.checks import CheckState
from cockpit.feed import ChecksEvent, FeedEvent, FeedStatus, JournalEvent, OutputEvent, SeriesEvent
from cockpit.freshness import Sample
from cockpit.journal import load_journal
from cockpit.profile.model import Profile
from cockpit.recording import folder_for, read_samples
from cockpit.results import OutputLine
from cockpit.series import SeriesStore, SignalView
from cockpit.session import Session

MAX_LINES = 200_000          # output lines loaded from the recordings of one incident
MAX_CAST_BYTES = 32 << 20    # bytes read of one recording (the recorder caps a host at 16 MiB)
LINE_CHARS = 2000            # characters kept of one output line
EMIT_LINES = 2000            # output lines told to the screen per seek (what its log pane keeps)
SAMPLE_GAP = 60.0            # samples ending this long before the journal: said to be missing


@dataclass(frozen=True)
class Incident:
    """Everything recorded about one incident, in time order, and what could not be read."""

    journal: Path
    entries: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    output: list[OutputLine]
    missing: list[str]
    recorded_steps: frozenset[str] = frozenset()   # steps with output in the recordings
    recorded_hosts: frozenset[tuple[str, str]] = frozenset()   # (step, host) with output in them

    @property
    def start(self) -> float:
        times = [float(self.entries[0]["ts"])] if self.entries else []
        if self.samples:
            times.append(float(self.samples[0]["ts"]))
        return min(times) if times else 0.0

    @property
    def end(self) -> float:
        times = [float(e["ts"]) for e in self.entries[-1:]]
        times += [float(s["ts"]) for s in self.samples[-1:]]
        times += [line.ts for line in self.output[-1:]]
        return max(times) if times else self.start

    def event_times(self) -> list[float]:
        """The instants worth jumping to: every journal entry but check values repeated, and the
        first output line of each step run on each host."""
        times = {float(e["ts"]) for e in self.entries}
        seen: set[tuple[str, str]] = set()
        for line in self.output:
            if (line.step_id, line.host) not in seen:
                seen.add((line.step_id, line.host))
                times.add(line.ts)
        return sorted(times)


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


def _read_cast(path: Path, started: float | None, step_id: str, host: str | None, *, out: list[OutputLine],
               problems: list[str], shown: str) -> None:
    """The output events of one asciicast file, at their absolute time (bounded; damage said)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CAST_BYTES + 1)
    except OSError as e:
        problems.append(f"recording {shown}: {'missing' if isinstance(e, FileNotFoundError) else e.strerror or e}")
        return
    if len(data) > MAX_CAST_BYTES:
        problems.append(f"recording {shown}: over {MAX_CAST_BYTES} bytes, read up to there")
        data = data[:MAX_CAST_BYTES]
    lines = data.split(b"\n")
    cut = lines[-1] != b""
    lines = lines[:-1]
    if not lines:
        problems.append(f"recording {shown}: empty")
        return
    try:
        header = json.loads(lines[0])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("version") != 2:
        problems.append(f"recording {shown}: not an asciicast v2 file")
        return
    base = started if started is not None else _number(header.get("timestamp"))
    if base is None:
        problems.append(f"recording {shown}: no start time")
        return
    if host is None:
        title = str(header.get("title") or "")
        host = title.split(" on ", 1)[1] if " on " in title else path.stem
    damaged = 0
    for raw in lines[1:]:
        try:
            ev = json.loads(raw)
        except ValueError:
            damaged += 1
            continue
        if not (isinstance(ev, list) and len(ev) == 3 and _number(ev[0]) is not None and ev[1] == "o"
                and isinstance(ev[2], str)):
            damaged += 1
            continue
        if len(out) >= MAX_LINES:
            problems.append(f"output: more than {MAX_LINES} lines recorded; the rest is not loaded")
            return
        for text in ev[2].replace("\r\n", "\n").rstrip("\n").split("\n"):
            out.append(OutputLine(step_id, host, "stdout", text.rstrip("\r")[:LINE_CHARS], base + float(ev[0])))
    if cut:
        problems.append(f"recording {shown}: truncated (its last line is cut)")
    if damaged:
        problems.append(f"recording {shown}: {damaged} damaged event{'s' if damaged > 1 else ''} skipped")


def _recordings(journal: Path, entries: Sequence[dict[str, Any]], problems: list[str]) -> list[OutputLine]:
    """Every output line the journal's recordings hold, in time order."""
    base = journal.parent
    out: list[OutputLine] = []
    runs: dict[str, tuple[str, float]] = {}       # run folder -> (step id, start)
    ended: dict[str, list[dict[str, Any]]] = {}   # run folder -> step_end.recordings
    open_run: dict[str, str] = {}                 # step id -> its running run folder
    for e in entries:
        if e.get("type") == "step_start" and isinstance(e.get("recording"), str):
            runs[e["recording"]] = (str(e.get("step")), float(e["ts"]))
            open_run[str(e.get("step"))] = e["recording"]
        elif e.get("type") == "step_end":
            rel = open_run.pop(str(e.get("step")), None)
            recs = e.get("recordings")
            if rel is not None and isinstance(recs, list):
                ended[rel] = [r for r in recs if isinstance(r, dict)]
    if not runs:
        return out
    folder = folder_for(journal)
    if not folder.is_dir():
        problems.append(f"recordings folder {folder.name}/ missing: output shown from the journal's tails only")
        return out
    for rel, (step_id, started) in runs.items():
        run_dir = base / rel
        if not _inside(run_dir, folder):
            problems.append(f"recording {rel}: outside the recordings folder, not read")
            continue
        if rel in ended:
            for rec in ended[rel]:
                path, host = rec.get("path"), rec.get("host")
                if not isinstance(path, str) or not _inside(base / path, folder):
                    continue
                size = _number(rec.get("bytes"))
                _read_cast(base / path, started, step_id, str(host) if host is not None else None, out=out,
                           problems=problems, shown=path)
                try:
                    actual = (base / path).stat().st_size
                except OSError:
                    continue
                if size is not None and actual < size:
                    problems.append(f"recording {path}: truncated ({actual} of {int(size)} bytes)")
                if rec.get("truncated"):
                    problems.append(f"recording {path}: stopped at its size cap during the incident")
        elif run_dir.is_dir():      # a run with no end in the journal: what it recorded so far
            for cast in sorted(run_dir.glob("*.cast")):
                _read_cast(cast, started, step_id, None, out=out, problems=problems, shown=f"{rel}/{cast.name}")
        else:
            problems.append(f"recording {rel}/: missing")
    out.sort(key=lambda line: line.ts)
    return out


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def load_incident(journal: Path) -> Incident:
    """Read a journal and its recordings. Raises OSError only when the journal itself cannot be read."""
    contents = load_journal(journal)
    entries = [e for e in contents.entries if _number(e.get("ts")) is not None]
    entries.sort(key=lambda e: float(e["ts"]))
    problems: list[str] = [f"journal: {p}" for p in contents.problems]
    samples_path = folder_for(journal) / "samples.jsonl"
    sample_problems: list[str] = []
    samples = read_samples(samples_path, sample_problems)
    samples.sort(key=lambda s: float(s["ts"]))
    for p in sample_problems:
        problems.append(f"{p}: the panels show no data" if p.endswith("missing") else p)
    if samples and entries and float(entries[-1]["ts"]) - float(samples[-1]["ts"]) > SAMPLE_GAP:
        from cockpit.series import clock

        problems.append(f"samples end at {clock(float(samples[-1]['ts']))}, the journal at "
                        f"{clock(float(entries[-1]['ts']))}: the panels stop there")
    output = _recordings(journal, entries, problems)
    steps = frozenset(line.step_id for line in output)
    hosts = frozenset((line.step_id, line.host) for line in output)
    return Incident(journal, entries, samples, output, list(dict.fromkeys(problems)), steps, hosts)


@dataclass
class _Running:
    started: float
    total: int

    @property
    def progress(self) -> tuple[int, int]:
        return 0, self.total


@dataclass
class _Position:
    """Where the replay is: indexes of the next entry, sample and output line to apply."""

    t: float
    entry: int = 0
    sample: int = 0
    line: int = 0
    checks: dict[str, CheckState] = field(default_factory=dict)
    history: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


class ReplayFeed:
    """A `cockpit.feed.Feed` of a recorded incident at one instant (`position`), moved by `seek`."""

    def __init__(self, profile: Profile, incident: Incident) -> None:
        self.profile = profile
        self.incident = incident
        self._sinks: list[Callable[[FeedEvent], None]] = []
        self._entry_ts = [float(e["ts"]) for e in incident.entries]
        self._sample_ts = [float(s["ts"]) for s in incident.samples]
        self._line_ts = [line.ts for line in incident.output]
        self._events = incident.event_times()
        self._reset(incident.start)
        self.seek(incident.start)

    # -- the Feed protocol ------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self._session

    @property
    def running(self) -> Mapping[str, _Running]:
        return {sid: _Running(rec.started, len(self._hosts.get(sid, ()))) for sid, rec in self._session.steps.items()
                if rec.state == "running"}

    def signal_view(self, signal_id: str, now: float) -> SignalView | None:
        try:
            return self._store.view(signal_id, self.position)
        except KeyError:
            return None

    def check_states(self) -> list[CheckState]:
        out = []
        for spec in self.profile.checks:
            st = self._pos.checks.get(spec.id)
            if st is None:      # no transition yet: as the engine starts every check
                st = CheckState(check_id=spec.id, title=spec.title or f"{spec.signal} {spec.condition}",
                                status="pending", reason="no sample yet", values={}, passes=0,
                                needed=max(1, spec.consecutive), since=self.start, deadline=None,
                                signal_id=spec.signal)
            view = self.signal_view(spec.signal, self.position)
            if view is not None and st.status != "pending" and view.last_ok is not None:
                st = replace(st, values=dict(view.current), age=view.age)
            started = self._session.rollback_started
            if spec.within and started is not None:
                st = replace(st, deadline=started + spec.within)    # as the engine counts it down
            out.append(st)
        return out

    def check_history(self, check_id: str) -> list[tuple[float, str]]:
        return list(self._pos.history.get(check_id, []))

    def status(self) -> FeedStatus:
        s = self._session
        driver = s.driver or "?"
        return FeedStatus(is_driver=False, read_only=True, lock_holder=f"replay of {driver}'s incident",
                          journal_path=str(self.incident.journal))

    def subscribe(self, sink: Callable[[FeedEvent], None]) -> Callable[[], None]:
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    # -- moving -------------------------------------------------------------------------------
    @property
    def position(self) -> float:
        return self._pos.t

    @property
    def start(self) -> float:
        return self.incident.start

    @property
    def end(self) -> float:
        return self.incident.end

    def next_event(self, after: float | None = None) -> float | None:
        """The first event strictly after ``after`` (default: now), or None at the end."""
        t = self.position if after is None else after
        i = bisect.bisect_right(self._events, t + 1e-6)
        return self._events[i] if i < len(self._events) else None

    def previous_event(self, before: float | None = None) -> float | None:
        """The last event strictly before ``before`` (default: now), or None at the start."""
        t = self.position if before is None else before
        i = bisect.bisect_left(self._events, t - 1e-6)
        return self._events[i - 1] if i > 0 else None

    def seek(self, t: float) -> bool:
        """Move to ``t`` (clamped to the incident). Forward, subscribers hear what happened in between;
        backward, the state is rebuilt from the start silently. True when it moved back."""
        t = min(max(t, self.start), self.end)
        back = t < self._pos.t
        if back:
            self._reset(t)
        self._advance(t, emit=not back)
        return back

    def output_until(self, limit: int = EMIT_LINES) -> list[OutputLine]:
        """The last ``limit`` output lines up to the position (what a log pane shows after a jump back)."""
        return self.incident.output[max(0, self._pos.line - limit):self._pos.line]

    def _reset(self, t: float) -> None:
        self._session = Session()
        self._store = SeriesStore(self.profile, now=self.start)
        self._hosts: dict[str, tuple[str, ...]] = {}
        self._pos = _Position(t=self.start)
        self._pos.checks = {}

    def _advance(self, t: float, emit: bool) -> None:
        pos = self._pos
        inc = self.incident
        e_end = bisect.bisect_right(self._entry_ts, t)
        s_end = bisect.bisect_right(self._sample_ts, t)
        l_end = bisect.bisect_right(self._line_ts, t)
        new_entries = inc.entries[pos.entry:e_end]
        sampled = s_end > pos.sample
        for sample in inc.samples[pos.sample:s_end]:
            self._apply_sample(sample)
        transitions: list[CheckState] = []
        for e in new_entries:
            self._session.apply(e)
            if e.get("type") == "step_start":
                self._hosts[str(e.get("step"))] = tuple(str(h) for h in e.get("hosts") or ())
            elif e.get("type") == "check_transition":
                st = self._transition(e)
                if st is not None:
                    transitions.append(st)
        lines = inc.output[max(pos.line, l_end - EMIT_LINES):l_end]
        pos.entry, pos.sample, pos.line, pos.t = e_end, s_end, l_end, t
        if not emit:
            return
        for line in lines:
            self._emit(OutputEvent(line))
        for e in new_entries:
            self._emit(JournalEvent(e))
        if sampled:
            self._emit(SeriesEvent())
        self._emit(ChecksEvent(tuple(transitions)))

    def _emit(self, event: FeedEvent) -> None:
        for sink in list(self._sinks):
            sink(event)

    def _apply_sample(self, s: dict[str, Any]) -> None:
        signal = str(s["signal"])
        ts = float(s["ts"])
        try:
            if isinstance(s.get("backfill"), dict):
                points = {str(label): [(float(p[0]), float(p[1])) for p in pts
                                       if isinstance(p, list) and len(p) == 2 and _number(p[0]) is not None
                                       and _number(p[1]) is not None]
                          for label, pts in s["backfill"].items() if isinstance(pts, list)}
                self._store.backfill(signal, points)
            elif s.get("stale"):
                self._store.fail(signal, ts, str(s["stale"])[:300])
            else:
                age = _number(s.get("age"))
                values = Sample(s["values"], age=age) if age is not None else dict(s["values"])
                self._store.record(signal, values, ts)
        except KeyError:
            pass        # a signal the profile no longer has

    def _transition(self, e: dict[str, Any]) -> CheckState | None:
        check_id = str(e.get("check"))
        spec = next((c for c in self.profile.checks if c.id == check_id), None)
        status = str(e.get("to"))
        if status not in ("pending", "unknown", "ok", "failing", "missed"):
            return None
        raw = e.get("values")
        values = {str(k): float(v) for k, v in raw.items() if _number(v) is not None} if isinstance(raw, dict) else {}
        needed = max(1, spec.consecutive) if spec is not None else 1
        st = CheckState(
            check_id=check_id, title=str(e.get("title") or (spec.title if spec else check_id) or check_id),
            status=status,  # type: ignore[arg-type]  # checked against the Literal's values just above
            reason=str(e.get("reason") or ""), values=values, passes=needed if status == "ok" else 0,
            needed=needed, since=float(e["ts"]), deadline=_number(e.get("deadline")),
            signal_id=spec.signal if spec is not None else "",
            evidence=evidence if isinstance(evidence := e.get("evidence"), dict) else {},
        )
        if spec is None:
            return None
        self._pos.checks[check_id] = st
        self._pos.history.setdefault(check_id, []).append((float(e["ts"]), status))
        return st
