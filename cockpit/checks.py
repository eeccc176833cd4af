"""Validation checks: a condition every series of a signal must hold, from live data.

States and the rules that give them, in order:

- ``unknown``: the signal is stale (its source failed, or has not answered for
  2 intervals + timeout), or its last sample held no series ("no series
  returned by the query"). A check is NEVER ok on stale or missing data.
- ``pending``: no live sample yet, or the condition holds but fewer than
  ``consecutive`` samples in a row have passed ("1/2 consecutive").
- ``failing``: some series breaks the condition ("feed=312 (needs < 100)").
- ``ok``: every series holds the condition for ``consecutive`` samples in a
  row. Each sample counts once, however often it is evaluated; a failing or
  unknown sample resets the count.
- ``missed``: the check has a ``within`` deadline, a rollback is running, and
  the check was not ok at any evaluation up to ``rollback_started + within``.
  Missed is sticky for that rollback: the promise ("back under 0.1 % within
  5 minutes") was broken and the record must say so even if the signal
  recovers later. The reason still tells the live state, e.g.
  "deadline missed at 10:07:00; now ok: 0.0002 (< 0.001)". Without a rollback
  the deadline is not running (``deadline`` is None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from cockpit.conditions import Condition
from cockpit.profile.model import CheckSpec, Profile
from cockpit.series import SeriesStore, SignalView, clock

CheckStatus = Literal["pending", "unknown", "ok", "failing", "missed"]


@dataclass(frozen=True)
class CheckState:
    check_id: str
    title: str
    status: CheckStatus
    reason: str
    values: Mapping[str, float]
    passes: int
    needed: int
    since: float  # time of the last status transition
    deadline: float | None
    # additive to the documented contract:
    signal_id: str = ""
    deadline_met: bool = False


def fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def fmt_values(values: Mapping[str, float], limit: int = 4) -> str:
    items = sorted(values.items())
    parts = [f"{k}={fmt_value(v)}" if k else fmt_value(v) for k, v in items[:limit]]
    if len(items) > limit:
        parts.append(f"+{len(items) - limit} more")
    return ", ".join(parts)


def _breaking(cond: Condition, values: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if not cond.holds(v)}


@dataclass
class _Track:
    spec: CheckSpec
    state: CheckState
    passes: int = 0
    counted_seq: int = 0
    rollback: float | None = None
    met: bool = False
    history: list[tuple[float, CheckStatus]] = field(default_factory=list)


class CheckEngine:
    """Evaluates every check of the profile; remembers passes, deadlines and transitions."""

    def __init__(self, profile: Profile, now: float = 0.0) -> None:
        self.profile = profile
        self._tracks: list[_Track] = []
        for spec in profile.checks:
            needed = max(1, spec.consecutive)
            state = CheckState(
                check_id=spec.id, title=spec.title or f"{spec.signal} {spec.condition}", status="pending",
                reason="no sample yet", values={}, passes=0, needed=needed, since=now, deadline=None,
                signal_id=spec.signal,
            )
            self._tracks.append(_Track(spec=spec, state=state))

    def states(self) -> list[CheckState]:
        return [t.state for t in self._tracks]

    def history(self, check_id: str) -> list[tuple[float, CheckStatus]]:
        """Every transition of one check: (time, new status)."""
        for t in self._tracks:
            if t.spec.id == check_id:
                return list(t.history)
        raise KeyError(check_id)

    def evaluate(
        self, store: SeriesStore, now: float, rollback_started: float | None
    ) -> list[tuple[CheckState, CheckState | None]]:
        """Re-evaluate every check; returns (new, previous) for each check whose status changed."""
        changes: list[tuple[CheckState, CheckState | None]] = []
        views: dict[str, SignalView | None] = {}
        for t in self._tracks:
            sid = t.spec.signal
            if sid not in views:
                try:
                    views[sid] = store.view(sid, now, with_series=False)
                except KeyError:
                    views[sid] = None
            new = self._evaluate(t, views[sid], now, rollback_started)
            prev = t.state
            if new.status != prev.status:
                new = replace(new, since=now)
                t.history.append((now, new.status))
                changes.append((new, prev))
            else:
                new = replace(new, since=prev.since)
            t.state = new
        return changes

    def _evaluate(
        self, t: _Track, view: SignalView | None, now: float, rollback_started: float | None
    ) -> CheckState:
        spec = t.spec
        cond = spec.condition
        needed = max(1, spec.consecutive)
        if rollback_started != t.rollback:  # a new rollback (or none): the deadline starts over
            t.rollback, t.met = rollback_started, False
        deadline = rollback_started + spec.within if (rollback_started is not None and spec.within) else None

        values: Mapping[str, float] = {}
        status: CheckStatus
        if view is None:
            status, reason = "unknown", f"no signal {spec.signal!r}"
            t.passes = 0
        elif view.stale_since is not None:
            status, reason = "unknown", f"stale since {clock(view.stale_since)}: {view.stale_reason}"
            values = view.current
            t.passes = 0
        elif view.last_ok is None:
            status, reason = "pending", "no sample yet"
        elif not view.current:
            status, reason = "unknown", "no series returned by the query"
            t.passes = 0
            t.counted_seq = view.seq
        else:
            values = view.current
            bad = _breaking(cond, values)
            if bad:
                status, reason = "failing", f"{fmt_values(bad)} (needs {cond})"
                t.passes = 0
            else:
                if view.seq > t.counted_seq:
                    t.passes += 1
                shown = fmt_values(values)
                if t.passes >= needed:
                    status = "ok"
                    reason = f"{shown} ({cond})" + (f", {min(t.passes, needed)}/{needed} consecutive"
                                                    if needed > 1 else "")
                else:
                    status, reason = "pending", f"{shown} ({cond}), {t.passes}/{needed} consecutive"
            t.counted_seq = view.seq

        if deadline is not None:
            if status == "ok" and now <= deadline:
                t.met = True
            if not t.met and now > deadline:
                now_part = "now ok: " + reason if status == "ok" else f"now {status}: {reason}"
                status, reason = "missed", f"deadline missed at {clock(deadline)}; {now_part}"
            elif not t.met and status != "ok":
                reason = f"{reason}; due by {clock(deadline)}"

        return CheckState(
            check_id=spec.id, title=spec.title or f"{spec.signal} {cond}", status=status, reason=reason,
            values=dict(values), passes=min(t.passes, needed), needed=needed, since=t.state.since,
            deadline=deadline, signal_id=spec.signal, deadline_met=t.met,
        )
