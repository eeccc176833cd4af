"""Live values: bounded ring buffers per (signal, label), with stale marking.

Memory stays bounded however long cockpit runs: each series is a
``deque(maxlen=SignalSpec.history)`` and a signal keeps at most
``MAX_LABELS`` series (the least recently updated label is dropped first).

A signal is *stale* (see `cockpit.freshness` for the whole rule) when, in order:

1. its last sample failed (error, timeout);
2. its source reported a health problem with the last sample (a declared
   scrape target down, missing or not scraped: "target … down since 12:03:04");
3. the oldest raw sample under its last value is older than ``max_age``
   (prometheus: the sample's age comes with the answer);
4. its source has not answered for ``2 * interval + timeout`` (overdue).

Checks never pass on stale data (see `cockpit.checks`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cockpit.durations import format_duration
from cockpit.freshness import Sample, max_age_of
from cockpit.profile.model import Profile

MAX_LABELS = 64

Point = tuple[float, float]


def clock(ts: float) -> str:
    """``HH:MM:SS`` in local time, as shown in reasons ("stale since 10:02:03")."""
    return time.strftime("%H:%M:%S", time.localtime(ts))


@dataclass(frozen=True)
class SignalView:
    """A read-only snapshot of one signal, handed to checks and widgets."""

    signal_id: str
    series: Mapping[str, tuple[Point, ...]]  # label -> ((ts, value), ...), oldest first
    last_ok: float | None  # ts of the last successful live sample
    stale_since: float | None  # set when the source failed or is overdue; None when fresh
    stale_reason: str | None
    # additive to the documented contract:
    current: Mapping[str, float] = field(default_factory=dict)  # values of the last live sample
    seq: int = 0  # number of live samples recorded so far (checks count each sample once)
    last_error: str | None = None  # reason of the last failure, even if a sample succeeded since
    sample_ts: float | None = None  # local time of the oldest raw sample under `current`
    age: float | None = None  # now - sample_ts (None before the first live sample)
    max_age: float | None = None  # the signal's limit on `age` (None: only the overdue rule)
    provenance: Sample | None = None  # the query, per-selector ages and targets of the last sample

    @property
    def no_data(self) -> bool:
        """A fresh live answer that held no series (the panel says "no data", the check `unknown`)."""
        return self.last_ok is not None and not self.current and self.stale_since is None

    def latest(self) -> dict[str, float]:
        """Label -> latest value: the last live sample, else the last backfilled point of each series."""
        if self.last_ok is not None:
            return dict(self.current)
        return {label: pts[-1][1] for label, pts in self.series.items() if pts}

    @property
    def stale(self) -> bool:
        return self.stale_since is not None


@dataclass
class _Signal:
    history: int
    overdue: float
    created: float
    series: dict[str, deque[Point]] = field(default_factory=dict)
    current: dict[str, float] = field(default_factory=dict)
    last_ok: float | None = None
    last_answer: float | None = None
    stale_since: float | None = None
    stale_reason: str | None = None
    last_error: str | None = None
    seq: int = 0
    max_age: float | None = None
    sample_ts: float | None = None
    problem: str | None = None
    problem_since: float | None = None
    provenance: Sample | None = None

    def append(self, label: str, ts: float, value: float) -> None:
        buf = self.series.get(label)
        if buf is None:
            if len(self.series) >= MAX_LABELS:
                oldest = min(self.series, key=lambda k: self.series[k][-1][0] if self.series[k] else 0.0)
                del self.series[oldest]
            buf = self.series[label] = deque(maxlen=self.history)
        if buf and ts < buf[-1][0]:
            return  # never reorder history: late points are dropped
        buf.append((ts, value))


class SeriesStore:
    """Every signal's ring buffers. Only the poller writes; checks and widgets read `view`."""

    def __init__(self, profile: Profile, now: float | None = None) -> None:
        created = time.time() if now is None else now
        self.version = 0
        self._signals: dict[str, _Signal] = {}
        for sig in profile.signals:
            src = profile.sources.get(sig.source)
            interval = (src.interval if src and src.interval else None) or profile.cockpit.refresh
            timeout = src.timeout if src else 3.0
            self._signals[sig.id] = _Signal(
                history=max(1, sig.history), overdue=2 * interval + timeout, created=created,
                max_age=max_age_of(profile, sig),
            )

    def signal_ids(self) -> list[str]:
        return list(self._signals)

    def _get(self, signal_id: str) -> _Signal:
        try:
            return self._signals[signal_id]
        except KeyError:
            raise KeyError(f"unknown signal {signal_id!r}") from None

    def record(self, signal_id: str, values: Mapping[str, float], ts: float) -> None:
        """A successful live sample: every label's value at ``ts``; clears a failure.

        A `Sample` brings its provenance: the age of its oldest raw sample (the
        sample time becomes ``ts - age``, on the local clock) and its source's
        health problem, which keeps the signal stale while it lasts.
        """
        s = self._get(signal_id)
        for label, value in values.items():
            s.append(label, ts, float(value))
        s.current = {k: float(v) for k, v in values.items()}
        s.last_ok = s.last_answer = ts
        s.stale_since = s.stale_reason = None
        meta = values if isinstance(values, Sample) else None
        s.provenance = meta
        s.sample_ts = ts - meta.age if meta is not None and meta.age is not None else ts
        if meta is not None and meta.problem:
            if s.problem is None:
                s.problem_since = ts
            s.problem = meta.problem
        else:
            s.problem = s.problem_since = None
        s.seq += 1
        self.version += 1

    def backfill(self, signal_id: str, points: Mapping[str, Iterable[Point]]) -> None:
        """Historical points (e.g. a Prometheus range query at start): fill panels, not checks."""
        s = self._get(signal_id)
        for label, pts in points.items():
            for ts, value in sorted(pts):
                s.append(label, ts, float(value))
        self.version += 1

    def fail(self, signal_id: str, ts: float, reason: str) -> None:
        """A failed sample: the signal is stale from now (or from its first failure) with ``reason``."""
        s = self._get(signal_id)
        s.last_answer = ts
        if s.stale_since is None:
            s.stale_since = ts
        s.stale_reason = reason
        s.last_error = reason
        self.version += 1

    def view(self, signal_id: str, now: float | None = None, with_series: bool = True) -> SignalView:
        """The signal as of ``now``; overdue (no answer for 2 intervals + timeout) counts as stale.

        ``with_series=False`` skips copying the ring buffers (checks only need the current values).
        """
        s = self._get(signal_id)
        now = time.time() if now is None else now
        stale_since, reason = s.stale_since, s.stale_reason
        if stale_since is None and s.problem is not None:
            stale_since, reason = s.problem_since, s.problem
        if stale_since is None and s.max_age is not None and s.sample_ts is not None and (
            now - s.sample_ts > s.max_age
        ):
            stale_since = s.sample_ts + s.max_age
            reason = f"data from {clock(s.sample_ts)}, older than max_age {format_duration(s.max_age)}"
        if stale_since is None:
            last = s.last_answer if s.last_answer is not None else s.created
            if now - last > s.overdue:
                stale_since = last + s.overdue
                reason = f"no answer since {clock(last)}" if s.last_answer is not None else (
                    f"no answer since start ({clock(last)})"
                )
        return SignalView(
            signal_id=signal_id,
            series=MappingProxyType({k: tuple(v) for k, v in s.series.items()} if with_series else {}),
            last_ok=s.last_ok,
            stale_since=stale_since,
            stale_reason=reason,
            current=MappingProxyType(dict(s.current)),
            seq=s.seq,
            last_error=s.last_error,
            sample_ts=s.sample_ts,
            age=now - s.sample_ts if s.sample_ts is not None else None,
            max_age=s.max_age,
            provenance=s.provenance,
        )
