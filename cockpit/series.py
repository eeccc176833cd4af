"""Live values: bounded ring buffers per (signal, label), with stale marking.

Memory stays bounded however long cockpit runs: each series is a
``deque(maxlen=SignalSpec.history)`` and a signal keeps at most
``MAX_LABELS`` series (the least recently updated label is dropped first).

A signal is *stale* when its last sample failed, or when its source has not
answered for ``2 * interval + timeout`` (overdue). Checks never pass on stale
data (see `cockpit.checks`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

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
                history=max(1, sig.history), overdue=2 * interval + timeout, created=created
            )

    def signal_ids(self) -> list[str]:
        return list(self._signals)

    def _get(self, signal_id: str) -> _Signal:
        try:
            return self._signals[signal_id]
        except KeyError:
            raise KeyError(f"unknown signal {signal_id!r}") from None

    def record(self, signal_id: str, values: Mapping[str, float], ts: float) -> None:
        """A successful live sample: every label's value at ``ts``; clears staleness."""
        s = self._get(signal_id)
        for label, value in values.items():
            s.append(label, ts, float(value))
        s.current = {k: float(v) for k, v in values.items()}
        s.last_ok = s.last_answer = ts
        s.stale_since = s.stale_reason = None
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
        )
