"""Plain values the widgets draw. No Textual, no engine: the app builds them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

Samples = Sequence[tuple[float, float]]  # ((ts, value), ...), oldest first


def _no_series() -> Mapping[str, Samples]:
    return MappingProxyType({})


def _no_counts() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True)
class PanelData:
    """One signal as a panel draws it (values already in the signal's own unit, unscaled)."""

    title: str
    # the clock: not part of equality, so a new ``now`` alone repaints nothing (the app repaints a
    # panel whose countdown moves)
    now: float = field(compare=False)
    series: Mapping[str, Samples] = field(default_factory=_no_series)
    unit: str = ""
    scale: float = 1.0
    op: str | None = None  # the check's comparison, e.g. "<"
    threshold: float | None = None
    deadline: float | None = None  # epoch seconds when the check's `within` runs out
    stale_since: float | None = None
    stale_reason: str | None = None
    last_ok: float | None = None
    expected_workers: Mapping[str, float] = field(default_factory=_no_counts)
    workers: Mapping[str, float] = field(default_factory=_no_counts)
    notes: tuple[str, ...] = ()  # extra facts, e.g. "latency 42ms"
    markers: tuple[tuple[float, str], ...] = ()  # (ts, short label) of step events drawn on the time axis
    version: int = 0  # changes whenever the data changes: charts re-render only then
    age: float | None = None  # seconds since the oldest raw sample under the current values
    no_data: bool = False  # the last live answer held no series
    current: Mapping[str, float] | None = None  # the last live answer's values (None: use the history)

    @property
    def waiting(self) -> bool:
        return not any(self.series.values()) and self.stale_since is None and not self.no_data

    def latest(self) -> dict[str, float]:
        if self.current is not None:
            return dict(self.current)
        return {label: s[-1][1] for label, s in self.series.items() if s}

    def holds(self, value: float) -> bool | None:
        """Whether ``value`` meets the panel's threshold (None when there is none)."""
        if self.op is None or self.threshold is None:
            return None
        return _holds(self.op, value, self.threshold)

    @property
    def condition(self) -> str:
        """``"< 100"`` in display units, or ``""``."""
        if self.op is None or self.threshold is None:
            return ""
        from widgets.fmt import number

        return f"{self.op} {number(self.threshold, self.unit, self.scale)}"


def _holds(op: str, value: float, threshold: float) -> bool:
    if not math.isfinite(value):  # NaN and ±Inf never hold (-Inf is not "< 0.001")
        return False
    return {
        "<": value < threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        ">=": value >= threshold,
        "==": value == threshold,
        "!=": value != threshold,
    }.get(op, False)


@dataclass(frozen=True)
class StepRow:
    """One runbook step in the checklist."""

    step_id: str
    title: str
    phase: str
    key: str | None = None
    kind: str = "ssh"
    state: str = "idle"  # idle running ok failed partial cancelled refused
    started: float | None = None
    ended: float | None = None
    hosts_done: int = 0
    hosts_total: int = 0
    detail: str = ""  # reason of a refusal/failure, or the manual note
    next: bool = False  # the runbook's next step (highlighted)
    unseen: bool = False  # failed/partial and its detail not yet opened: keeps a mark on the row
    ticked: bool = False  # a person's step (its kind says so): "manual" while idle, "ticked" when done


@dataclass(frozen=True)
class CheckRow:
    """One validation check in the checklist."""

    check_id: str
    title: str
    status: str  # pending unknown ok failing missed
    reason: str = ""
    values: str = ""
    deadline: float | None = None


@dataclass(frozen=True)
class HeaderInfo:
    """What the header shows: who drives, where, and the RTO clock."""

    name: str
    environment: str
    read_only: bool
    user_host: str
    now: float
    lock_holder: str | None = None
    rto_budget: float = 900.0
    rollback_started: float | None = None
    rollback_ended: float | None = None
    start_key: str = "r"
    start_hint: str = ""  # how the RTO clock starts, e.g. "r, or the first rollback step (a)"
    note: str = ""  # e.g. "resumed session from 10:42"
    connections: str = ""  # e.g. "ssh 3/3"
    lock_scope: str = ""  # "bastion-wide" or "this user only" (who the driver lock excludes)
    alert: str = ""  # what stops the cockpit from acting, e.g. "JOURNAL BROKEN: disk full" (drawn loud)
