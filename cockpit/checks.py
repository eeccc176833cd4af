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
- ``missed``: the check has a ``within`` deadline (``rollback_started +
  within``), a rollback is running, and the check was NOT ok at the deadline.

``within`` precisely: the deadline is *met* when the check is ``ok`` at the
deadline, that is, at the last evaluation at or before the deadline it was
``ok`` (every series holding the condition on fresh live data for
``consecutive`` samples in a row) and nothing that broke it had happened by
the deadline (a failing or empty sample, or staleness, dated at or before the
deadline). Being ok once earlier is not enough: ok at 10:03, then ``unknown``
(stale) or failing at the deadline 10:05, is *missed*. The cockpit evaluates
at least every ``refresh`` (at most 5 s), so "at the deadline" is exact to one
tick. The verdict is taken once, at the first evaluation after the deadline,
and is final for that rollback: *missed* stays missed even if the signal
recovers ("back under 0.1 % within 5 minutes" was broken and the record must
say so; the reason still tells the live state, e.g. "deadline missed at
10:07:00; now ok: 0.0002 (< 0.001)"); *met* lets the live status show
(``deadline_met``). Without a rollback the deadline is not running
(``deadline`` is None).

Non-finite values (NaN, ±Inf) never hold a condition (`Condition.holds`).

Each state carries its ``evidence``: the query, the values per series with
their sample time and age, and the source's health, as journalled with every
transition (see `evidence`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cockpit.conditions import Condition
from cockpit.freshness import json_number, nonfinite_reason
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
    age: float | None = None  # age of the data judged (now - oldest raw sample), None without data
    evidence: Mapping[str, Any] = field(default_factory=dict)  # what the status was decided on


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def evidence(profile: Profile, signal_id: str, view: SignalView | None, now: float) -> dict[str, Any]:
    """What a verdict was decided on, JSON-safe (the journal keeps it with every transition).

    ``series``: every value with the time and age of the oldest raw sample under
    the signal (prometheus) or of the answer (http, ssh); non-finite values are
    ``null`` with a ``note``. ``health``: the source's declared targets as last seen.
    """
    try:
        sig = profile.signal(signal_id)
        query: str | None = sig.query or sig.command or None
        source: str | None = sig.source
    except KeyError:
        query = source = None
    if view is None:
        return {"signal": signal_id, "source": source, "query": query, "at": now, "series": [],
                "stale": "no such signal"}
    prov = view.provenance
    series = []
    for label, v in sorted(view.current.items()):
        item: dict[str, Any] = {"label": label, "value": json_number(v), "ts": view.sample_ts,
                                "age": _round(view.age)}
        note = nonfinite_reason(v)
        if note:
            item["note"] = note
        series.append(item)
    out: dict[str, Any] = {
        "signal": signal_id, "source": source, "query": (prov.query if prov is not None else None) or query,
        "at": now, "sample_ts": view.sample_ts, "age": _round(view.age), "max_age": view.max_age,
        "series": series, "stale": view.stale_reason if view.stale_since is not None else None,
    }
    if prov is not None:
        out["selectors"] = {k: _round(a) for k, a in prov.ages.items()}
        if prov.targets or prov.problem:
            out["health"] = {"targets": prov.targets, "problem": prov.problem}
    return out


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


def _failing_reason(cond: Condition, bad: Mapping[str, float]) -> str:
    odd = any(not math.isfinite(v) for v in bad.values())
    return f"{fmt_values(bad)} (needs {cond}" + ("; NaN and ±Inf never pass)" if odd else ")")


@dataclass
class _Track:
    spec: CheckSpec
    state: CheckState
    passes: int = 0
    counted_seq: int = 0
    rollback: float | None = None
    met: bool = False  # ok at the latest evaluation at or before the deadline
    verdict: Literal["met", "missed"] | None = None  # taken at the first evaluation past the deadline
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
            view = views[sid]
            new = self._evaluate(t, view, now, rollback_started)
            new = replace(new, evidence=evidence(self.profile, sid, view, now),
                          age=view.age if view is not None else None)
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
            t.rollback, t.met, t.verdict = rollback_started, False, None
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
                status, reason = "failing", _failing_reason(cond, bad)
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
            if now <= deadline:
                t.met = status == "ok"
            elif t.verdict is None:
                # broken at or before the deadline, even if the evaluation that saw it came after it
                broke = None if view is None else (view.stale_since if view.stale_since is not None
                                                   else view.last_ok)
                late_break = status != "ok" and (broke is None or broke <= deadline)
                t.verdict = "met" if t.met and not late_break else "missed"
            if t.verdict == "missed":
                now_part = "now ok: " + reason if status == "ok" else f"now {status}: {reason}"
                status, reason = "missed", f"deadline missed at {clock(deadline)}; {now_part}"
            elif t.verdict is None and status != "ok":
                reason = f"{reason}; due by {clock(deadline)}"

        return CheckState(
            check_id=spec.id, title=spec.title or f"{spec.signal} {cond}", status=status, reason=reason,
            values=dict(values), passes=min(t.passes, needed), needed=needed, since=t.state.since,
            deadline=deadline, signal_id=spec.signal, deadline_met=t.verdict == "met",
        )
