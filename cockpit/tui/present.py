"""Engine objects -> the plain values ``widgets`` draw (PanelData, StepRow, CheckRow).

Pure functions, no Textual: the app calls them whenever the engine reports a change.
Engine objects are read by attribute (SignalView, CheckState, Session's StepRecord),
so anything with the documented fields works, including values fixed by tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cockpit.profile.model import CheckSpec, Profile, SignalSpec, StepSpec
from cockpit.targets import where_it_runs
from cockpit.tui.screens import StepPrompt
from widgets.data import CheckRow, PanelData, StepRow


def panel_signals(profile: Profile) -> list[SignalSpec]:
    """Signals that get a panel: all but those only feeding another panel's worker count."""
    feeders = {s.workers_signal for s in profile.signals if s.workers_signal}
    return [s for s in profile.signals if s.id not in feeders]


def check_for(profile: Profile, signal_id: str) -> CheckSpec | None:
    """The first check on ``signal_id`` (its threshold is drawn on the panel)."""
    return next((c for c in profile.checks if c.signal == signal_id), None)


def panel_data(
    profile: Profile,
    signal: SignalSpec,
    view: Any | None,
    now: float,
    *,
    rollback_started: float | None = None,
    workers: Mapping[str, float] | None = None,
    notes: tuple[str, ...] = (),
    version: int = 0,
    check_status: str | None = None,
) -> PanelData:
    """What one panel shows; ``view`` is a SignalView (or None before the first sample).

    The ``within`` countdown is drawn while the rollback runs and its check is not yet ok.
    """
    check = check_for(profile, signal.id)
    deadline = None
    if check is not None and check.within is not None and rollback_started is not None and check_status != "ok":
        deadline = rollback_started + check.within
    return PanelData(
        title=signal.title or signal.id,
        now=now,
        series=dict(view.series) if view is not None else {},
        unit=signal.unit,
        scale=signal.scale,
        op=check.condition.op if check else None,
        threshold=check.condition.threshold if check else None,
        deadline=deadline,
        stale_since=getattr(view, "stale_since", None),
        stale_reason=getattr(view, "stale_reason", None),
        last_ok=getattr(view, "last_ok", None),
        expected_workers={k: float(v) for k, v in signal.expected_workers.items()},
        workers=dict(workers or {}),
        notes=notes,
        version=version or view_version(view),
    )


def view_version(view: Any | None) -> int:
    """A number that changes when this signal's data changes (not when another signal's does)."""
    if view is None:
        return 0
    newest = max((pts[-1][0] for pts in view.series.values() if pts), default=0.0)
    points = sum(len(pts) for pts in view.series.values())
    return hash((getattr(view, "seq", 0), newest, points, view.stale_since is not None))


def step_hosts(profile: Profile, step: StepSpec) -> tuple[str, ...]:
    """The hosts a step runs on (``once``: the group's first host)."""
    if step.kind != "ssh" or not step.hosts:
        return ()
    hosts = tuple(profile.hosts.get(step.hosts, ()))
    return hosts[:1] if step.run == "once" else hosts


def step_row(profile: Profile, step: StepSpec, record: Any | None, ticks: Iterable[Mapping[str, Any]] = (),
             live_done: int | None = None) -> StepRow:
    """A checklist row from the session's StepRecord (None: never run) and manual ticks."""
    total = len(step_hosts(profile, step))
    ticks = list(ticks)
    if record is None and ticks:
        note = str(ticks[-1].get("note") or "")
        by = ticks[-1].get("by")
        detail = f"ticked{' by ' + str(by) if by else ''}{': ' + note if note else ''}"
        ts = float(ticks[-1].get("ts", 0.0))
        return StepRow(step.id, step.title, step.phase, step.key, step.kind, "ok", ts, ts, detail=detail)
    if record is None:
        return StepRow(step.id, step.title, step.phase, step.key, step.kind, hosts_total=total)
    hosts = list(getattr(record, "hosts", []) or [])
    state = str(record.state)
    done = live_done if state == "running" and live_done is not None else len(hosts)
    if state != "running" and not hosts:
        done = 0
    ok_hosts = sum(1 for h in hosts if isinstance(h, Mapping) and h.get("state") == "ok")
    detail = str(getattr(record, "reason", None) or "")
    if state in ("failed", "partial") and hosts and not detail:
        bad = [str(h.get("host")) for h in hosts if isinstance(h, Mapping) and h.get("state") != "ok"]
        detail = f"failed on {', '.join(bad)}" if bad else ""
    return StepRow(
        step.id, step.title, step.phase, step.key, step.kind, state,
        started=getattr(record, "started", None), ended=getattr(record, "ended", None),
        hosts_done=ok_hosts if state in ("ok", "failed", "partial") and hosts else done,
        hosts_total=total or len(hosts), detail=detail,
    )


def check_row(state: Any, unit: str = "", scale: float = 1.0) -> CheckRow:
    """A checklist row from a CheckState."""
    from widgets.fmt import number

    values = getattr(state, "values", {}) or {}
    shown = "  ".join(f"{k + ' ' if k else ''}{number(v, unit, scale)}" for k, v in sorted(values.items()))
    needed = int(getattr(state, "needed", 1) or 1)
    passes = int(getattr(state, "passes", 0) or 0)
    if needed > 1 and state.status != "ok":
        shown = f"{shown}  {passes}/{needed} in a row".strip()
    return CheckRow(
        check_id=state.check_id,
        title=state.title,
        status=state.status,
        reason=state.reason if state.status != "ok" else "",
        values=shown,
        deadline=getattr(state, "deadline", None),
    )


def pending_checks(profile: Profile) -> list[CheckRow]:
    """Every check as ``pending`` (before the engine has evaluated anything)."""
    return [
        CheckRow(c.id, c.title or f"{c.signal} {c.condition}", "pending", "waiting for first sample")
        for c in profile.checks
    ]


def check_units(profile: Profile) -> dict[str, tuple[str, float]]:
    """check id -> (unit, scale) of its signal, to format values."""
    out = {}
    for c in profile.checks:
        try:
            sig = profile.signal(c.signal)
        except KeyError:
            continue
        out[c.id] = (sig.unit, sig.scale)
    return out


def step_prompt(profile: Profile, step: StepSpec, missing: tuple[str, ...] = ()) -> StepPrompt:
    """What the confirmation shows about ``step`` (the app and the screenshot scenes share it)."""
    return StepPrompt(
        step_id=step.id,
        title=step.title,
        command=profile.expand(step.command) if step.command else None,
        hosts=step_hosts(profile, step),
        where=where_it_runs(profile, step),
        note=step.note,
        environment=profile.cockpit.environment,
        needs=step.confirm,
        destructive=step.destructive,
        missing=missing,
        has_preview=bool(step.preview) or step.kind in ("slack", "email", "jira", "ansible"),
    )
