"""The RTO forecast: each step's typical duration from earlier journals of the same profile.

A step's history is the duration of every run of it that ended ``ok`` (``step_end.duration``;
a manual step: from the rollback start or the previous activity to its tick is not a duration,
so manual steps have none). Per step: the number of runs, the median and the p90 (nearest rank).

The projection during a rollback: the remaining critical path is the sum of the medians of the
steps of the ``rollback`` and ``validate`` phases not done yet (the operator runs them one after
another); a running step counts only what is left of its median. "projected done HH:MM —
budget HH:MM" (budget = rollback start + RTO); ``fits`` is False when the projection passes the
budget. Steps with no history count 0 s and are listed as ``unknown``.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit import escape
from cockpit.durations import format_duration
from cockpit.journal import journals_of, load_journal
from cockpit.profile.model import Profile
from cockpit.state import StateDir

CRITICAL_PHASES = ("rollback", "validate")


@dataclass(frozen=True)
class StepStats:
    runs: int
    median: float
    p90: float
    incidents: int

    def as_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "median": self.median, "p90": self.p90, "incidents": self.incidents}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def durations(entries: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Step id -> durations of its runs that ended ok, in one journal."""
    out: dict[str, list[float]] = {}
    for e in entries:
        d = e.get("duration")
        if e.get("type") == "step_end" and e.get("state") == "ok" and isinstance(d, int | float) \
                and not isinstance(d, bool) and math.isfinite(d) and d >= 0:
            out.setdefault(str(e.get("step")), []).append(float(d))
    return out


def stats_from(journals: Iterable[Path]) -> dict[str, StepStats]:
    """Per-step statistics across journal files (unreadable files are skipped)."""

    def read() -> Iterable[list[dict[str, Any]]]:
        for path in journals:
            try:
                yield load_journal(path).entries
            except OSError:
                continue

    return stats_of(read())


def stats_of(incidents_entries: Iterable[Iterable[dict[str, Any]]]) -> dict[str, StepStats]:
    """Per-step statistics across incidents, each given as its journal entries."""
    runs: dict[str, list[float]] = {}
    incidents: dict[str, int] = {}
    for entries in incidents_entries:
        for step, ds in durations(entries).items():
            runs.setdefault(step, []).extend(ds)
            incidents[step] = incidents.get(step, 0) + 1
    return {step: StepStats(len(ds), statistics.median(ds), percentile(ds, 0.9), incidents[step])
            for step, ds in runs.items()}


def step_stats(profile: Profile, exclude: Path | None = None, state: StateDir | None = None) -> dict[str, StepStats]:
    """Statistics from every journal of ``profile`` (but ``exclude``, the incident in progress)."""
    return stats_from(p for p in journals_of(profile, state) if exclude is None or p != exclude)


@dataclass(frozen=True)
class Projection:
    done_at: float               # when the remaining critical path ends, by the medians
    budget_at: float | None      # rollback start + RTO (None before the rollback starts)
    remaining: float             # seconds of critical path left
    fits: bool                   # done_at <= budget_at (True before the rollback starts)
    unknown: tuple[str, ...] = field(default=())   # steps left with no history

    def text(self) -> str:
        """``projected done 12:41 — budget 12:45`` (the plain field the TUI shows)."""
        budget = _clock(self.budget_at) if self.budget_at is not None else "not started"
        return f"projected done {_clock(self.done_at)} — budget {budget}"

    @property
    def warning(self) -> str | None:
        if self.fits:
            return None
        assert self.budget_at is not None
        return (f"the remaining steps need {format_duration(self.remaining)} by their medians: "
                f"done {format_duration(self.done_at - self.budget_at)} after the RTO budget")


def _clock(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M")


def project(profile: Profile, stats: Mapping[str, StepStats], *, now: float, done: Iterable[str],
            running: Mapping[str, float], rollback_started: float | None) -> Projection:
    """The projection at ``now``: ``done`` step ids, ``running`` step id -> its start time."""
    finished = set(done)
    remaining = 0.0
    unknown = []
    for step in profile.steps:
        if step.phase not in CRITICAL_PHASES or step.id in finished:
            continue
        st = stats.get(step.id)
        if st is None:
            unknown.append(step.id)
            continue
        left = st.median - (now - running[step.id]) if step.id in running else st.median
        remaining += max(0.0, left)
    budget_at = rollback_started + profile.cockpit.rto if rollback_started is not None else None
    done_at = now + remaining
    return Projection(done_at, budget_at, remaining, budget_at is None or done_at <= budget_at, tuple(unknown))


def stats_table(profile: Profile, stats: Mapping[str, StepStats]) -> str:
    """``cockpit report --stats``: one line per step of the profile (then steps only the journals know)."""
    lines = [f"{'step':<28} {'phase':<14} {'runs':>5} {'incidents':>9} {'median':>9} {'p90':>9}"]
    known = [s.id for s in profile.steps]
    phases = {s.id: s.phase for s in profile.steps}
    for step in known + sorted(set(stats) - set(known)):
        st = stats.get(step)
        med = format_duration(st.median) if st else "-"
        p90 = format_duration(st.p90) if st else "-"
        lines.append(f"{escape.terminal(step)[:60]:<28} {phases.get(step, '?'):<14} {st.runs if st else 0:>5} "
                     f"{st.incidents if st else 0:>9} {med:>9} {p90:>9}")
    crit = sum(stats[s.id].median for s in profile.steps if s.phase in CRITICAL_PHASES and s.id in stats)
    lines.append(f"critical path (rollback + validate, medians): {format_duration(crit)} "
                 f"of an RTO of {format_duration(profile.cockpit.rto)}")
    return "\n".join(lines) + "\n"
