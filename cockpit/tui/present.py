"""Engine objects -> the plain values ``widgets`` draw (PanelData, StepRow, CheckRow).

Pure functions, no Textual: the app calls them whenever the engine reports a change.
Engine objects are read by attribute (SignalView, CheckState, Session's StepRecord),
so anything with the documented fields works, including values fixed by tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cockpit.feed import FeedStatus
from cockpit.kinds import step_kind
from cockpit.profile.model import CheckSpec, Profile, SignalSpec, StepSpec
from cockpit.series import SignalView
from cockpit.session import Session
from cockpit.targets import where_it_runs
from cockpit.tui.screens import StepPrompt
from widgets.checklist import PHASES
from widgets.data import CheckRow, PanelData, StepRow
from widgets.fmt import clock, number, short_duration


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
    markers: tuple[tuple[float, str], ...] = (),
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
        markers=markers,
        version=version or view_version(view),
        age=getattr(view, "age", None),
        no_data=bool(getattr(view, "no_data", False)),
        current=dict(view.current) if view is not None and getattr(view, "last_ok", None) is not None else None,
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
    if not step_kind(step.kind).runner or not step.hosts:
        return ()
    hosts = tuple(profile.hosts.get(step.hosts, ()))
    return hosts[:1] if step.run == "once" else hosts


def step_row(profile: Profile, step: StepSpec, record: Any | None, ticks: Iterable[Mapping[str, Any]] = (),
             live_done: int | None = None) -> StepRow:
    """A checklist row from the session's StepRecord (None: never run) and manual ticks."""
    total = len(step_hosts(profile, step))
    ticked = step_kind(step.kind).ticked
    ticks = list(ticks)
    if record is None and ticks:
        note = str(ticks[-1].get("note") or "")
        by = ticks[-1].get("by")
        detail = f"ticked{' by ' + str(by) if by else ''}{': ' + note if note else ''}"
        ts = float(ticks[-1].get("ts", 0.0))
        return StepRow(step.id, step.title, step.phase, step.key, step.kind, "ok", ts, ts, detail=detail,
                       ticked=ticked)
    if record is None:
        return StepRow(step.id, step.title, step.phase, step.key, step.kind, hosts_total=total, ticked=ticked)
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
        hosts_total=total or len(hosts), detail=detail, ticked=ticked,
    )


def check_row(state: Any, unit: str = "", scale: float = 1.0) -> CheckRow:
    """A checklist row from a CheckState."""
    values = getattr(state, "values", {}) or {}
    shown = "  ".join(f"{k + ' ' if k else ''}{number(v, unit, scale)}" for k, v in sorted(values.items()))
    age = getattr(state, "age", None)
    if age is not None and state.status not in ("pending",):
        shown = f"{shown}  ({age_text(age)} old)".strip()  # the live value's age, at every refresh
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


def age_text(age: float) -> str:
    """``0s`` / ``12s`` / ``3m05s``: the age of the data a check judged."""
    from widgets.fmt import duration

    return duration(max(0.0, age))


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


def step_prompt(profile: Profile, step: StepSpec, missing: tuple[str, ...] = (),
                session: Session | None = None) -> StepPrompt:
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
        has_preview=bool(step.preview) or step_kind(step.kind).previews,
        clock_note=clock_note(profile, step, session),
        last_run=last_run(step, session),
    )


def last_run(step: StepSpec, session: Session | None) -> str:
    """``last run partial: 1 of 2 hosts ok`` when the step ran before without succeeding ('' otherwise)."""
    record = session.steps.get(step.id) if session is not None else None
    if record is None or record.state not in FAILED_STATES:
        return ""
    return f"last run {record.state}{': ' + record.reason if record.reason else ''} (Space on its row shows each host)"


# -- panels: facts beside a signal -------------------------------------------------------------
ViewOf = Callable[[str], "SignalView | None"]


def panel_notes(profile: Profile, sig: SignalSpec, view_of: ViewOf) -> tuple[str, ...]:
    """A history panel shows the latency of the same probe when a signal measures it."""
    if sig.view != "history":
        return ()
    out = []
    for other in profile.signals:
        if other.source == sig.source and other.id != sig.id and other.field_ == "latency":
            view = view_of(other.id)
            latest = view.latest() if view is not None and view.stale_since is None else {}  # never a stale figure
            if latest:
                value = next(iter(latest.values()))
                out.append(f"latency {number(value, other.unit or 's', other.scale)}")
    return tuple(out)


def worker_counts(sig: SignalSpec, view_of: ViewOf) -> dict[str, float]:
    """The live worker counts shown beside a queue panel (none while their signal is stale)."""
    if not sig.workers_signal:
        return {}
    view = view_of(sig.workers_signal)
    return view.latest() if view is not None and view.stale_since is None else {}


def deadline_for(profile: Profile, sig: SignalSpec, started: float | None, status: str | None) -> float | None:
    """When the ``within`` of the check on ``sig`` runs out: drawn while the rollback runs and it is not ok."""
    check = check_for(profile, sig.id)
    if check is None or check.within is None or started is None or status == "ok":
        return None
    return started + check.within


def marked(step: StepSpec) -> bool:
    """The steps drawn on the charts' time axis: the one starting the rollback, the destructive ones,
    and the validate phase's (for the Academy: the pause, the migration rollback, the continue)."""
    return step_kind(step.kind).runner and (step.starts_rollback or step.destructive or step.phase == "validate")


def step_markers(profile: Profile, session: Session | None) -> tuple[tuple[float, str], ...]:
    """(ts, key) of the marked steps' last runs, for the time axis of the charts."""
    if session is None:
        return ()
    out = []
    for step in profile.steps:
        record = session.steps.get(step.id)
        if record is not None and marked(step):
            out.append((record.started, step.key or step.id[:1]))
    return tuple(sorted(out))


# -- the next step and the RTO clock -------------------------------------------------------------
def next_step(profile: Profile, session: Session | None, running: Iterable[str] = ()) -> StepSpec | None:
    """The runbook's next step: the first step, in phase order, not done and not running whose
    ``after`` steps have all succeeded. Once the rollback has started the prepare phase is passed over.
    """
    done = session.done if session is not None else frozenset()
    busy = set(running) | (set(session.running) if session is not None else set())
    started = session is not None and session.rollback_started is not None
    for phase in PHASES:
        if started and phase == "prepare":
            continue
        for step in profile.steps:
            if step.phase != phase or step.id in done or step.id in busy:
                continue
            if all(a in done for a in step.after):
                return step
    return None


def next_text(profile: Profile, step: StepSpec | None, session: Session | None, read_only: bool,
              running: Iterable[str] = ()) -> str:
    """The line under the checklist: the next step and its key, or what is running."""
    busy = list(running)
    if busy:
        return f"running: {', '.join(busy)}"
    if step is None:
        return "runbook done" if session is not None and session.done else "no step to run"
    verb = "tick" if step_kind(step.kind).ticked else ("watch" if read_only else "next")
    key = f"{step.key} " if step.key else ""
    state = session.state_of(step.id) if session is not None else "idle"
    again = f" (last run {state})" if state in ("failed", "partial", "cancelled", "refused") else ""
    return f"{verb}: {key}{step.title}{again}"


def rto_hint(profile: Profile, start_key: str) -> str:
    """How the RTO clock starts (the one rule): ``r``, or the first step marked ``starts_rollback``."""
    first = next((s for s in ordered_steps(profile) if s.starts_rollback), None)
    if first is None:
        return start_key
    return f"{start_key} or {first.key or first.id} {first.title}"


def clock_note(profile: Profile, step: StepSpec, session: Session | None) -> str:
    """What a confirmation says about the RTO clock when it has not started ('' once it runs)."""
    if session is not None and session.rollback_started is not None:
        return ""
    if step.starts_rollback:
        return "firing this starts the RTO clock"
    if step.phase in ("rollback", "validate") or step.destructive:
        return "the RTO clock has not started: this step does not start it (r starts it)"
    return ""


def ordered_steps(profile: Profile) -> list[StepSpec]:
    """The steps in the checklist's order (phase, then profile order)."""
    return [s for phase in PHASES for s in profile.steps if s.phase == phase]


# -- failures that stay -----------------------------------------------------------------------------
FAILED_STATES = ("failed", "partial", "cancelled", "refused")


def failure_lines(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(host, text) lines a failed/partial/cancelled step_end leaves in the output pane."""
    state = str(entry.get("state"))
    if state not in FAILED_STATES:
        return []
    hosts = [h for h in entry.get("hosts", []) or [] if isinstance(h, Mapping)]
    ok = sum(1 for h in hosts if h.get("state") == "ok")
    count = f" ({ok}/{len(hosts)} hosts ok)" if hosts else ""
    reason = str(entry.get("reason") or "")
    out = [("✘", f"{entry.get('step')} {state}{count}{': ' + reason if reason else ''}")]
    for h in hosts:
        if h.get("state") == "ok":
            continue
        out.append((str(h.get("host", "?")), host_outcome(h)))
    return out


def host_outcome(h: Mapping[str, Any]) -> str:
    """``failed, exit 1: reason`` for one host's result."""
    text = str(h.get("state", "?"))
    if h.get("exit_status") is not None:
        text += f", exit {h.get('exit_status')}"
    if h.get("verify_ok") is False:
        text += f", verify failed (exit {h.get('verify_exit_status')})"
    if h.get("error"):
        text += f": {h.get('error')}"
    return text


def step_detail(profile: Profile, step: StepSpec, session: Session | None, progress: tuple[int, int] | None) -> str:
    """The detail of a step: where it runs, its last run, and every host's result and output."""
    lines = [f"{step.id}: {step.title}", f"phase {step.phase} · kind {step.kind} · where: {where_it_runs(profile, step)}"]
    if step.command:
        lines.append(f"$ {profile.expand(step.command)}")
    if step.after:
        lines.append(f"after: {', '.join(step.after)}")
    if step.note:
        lines.append(f"why / watch: {step.note}")
    lines.append("")
    record = session.steps.get(step.id) if session is not None else None
    ticks = session.ticks.get(step.id, []) if session is not None else []
    if record is None and not ticks:
        lines.append("not run yet")
    for tick in ticks:
        lines.append(f"ticked at {clock(float(tick.get('ts', 0)))} by {tick.get('by') or '?'}: {tick.get('note') or ''}")
    if record is not None:
        took = f" in {short_duration(record.ended - record.started)}" if record.ended is not None else ""
        lines.append(f"last run: {record.state}{took}, started {clock(record.started)}"
                     + (" (precondition overridden)" if record.override else ""))
        if record.state == "running" and progress is not None:
            lines.append(f"{progress[0]}/{progress[1]} hosts done (ctrl+k cancels)")
        if record.reason:
            lines.append(f"reason: {record.reason}")
        for h in record.hosts:
            if not isinstance(h, Mapping):
                continue
            duration = h.get("duration")
            took = f" in {short_duration(float(duration))}" if isinstance(duration, (int, float)) else ""
            lines.append("")
            lines.append(f"{h.get('host', '?')}: {host_outcome(h)}{took}")
            lines += [f"  │ {t}" for t in h.get("tail", []) or []]
    kind = step_kind(step.kind)
    if (kind.runs_on == "none" and not kind.ticked) or step.starts_rollback or step.ends_rollback:
        lines += dashboard_lines(profile, session)   # the steps that announce or mark the incident
    return "\n".join(lines)


def dashboard_lines(profile: Profile, session: Session | None, now: float | None = None) -> list[str]:
    """The profile's dashboard links with the incident window (``{from}``/``{to}``, ms) filled in."""
    import time

    from cockpit.rca import links

    now = time.time() if now is None else now
    start = session.rollback_started if session is not None else None
    end = session.rollback_ended if session is not None and session.rollback_ended is not None else now
    found = [link for link in links(profile, start if start is not None else end - profile.cockpit.rto, end)
             if link["kind"] == "dashboard"]
    if not found:
        return []
    return ["", "dashboards (the incident window):", *(f"  {link['title']}: {link['url']}" for link in found)]


def check_detail(state: Any, history: Iterable[tuple[float, str]], unit: str = "", scale: float = 1.0) -> str:
    """The detail of a check: status, reason, current values, and its history of transitions."""
    row = check_row(state, unit, scale)
    lines = [f"{state.title}", f"status: {state.status}"]
    if state.reason:
        lines.append(f"reason: {state.reason}")
    if row.values:
        lines.append(f"values: {row.values}")
    if getattr(state, "deadline", None) is not None:
        lines.append(f"deadline: {clock(state.deadline)}")
    lines += ["", "history:"]
    shown = list(history)[-40:]
    lines += [f"  {clock(ts)}  {status}" for ts, status in shown] or ["  (no transition yet)"]
    return "\n".join(lines)


_ADDRESS = re.compile(r"\[?\b\d{1,3}(?:\.\d{1,3}){3}\b\]?(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?")


def notification_group(host: str, event: str, detail: str) -> tuple[str, str]:
    """(group key, wording for many hosts) of a connection event: the same event on many hosts is one
    notification. The host's name and addresses are what differ between hosts; they are left out."""
    generic = detail.replace(host, "…") if host else detail
    generic = _ADDRESS.sub("…", generic)
    return f"{event}|{generic}", f"{event} {generic}".strip()


def status_alert(status: FeedStatus) -> str:
    """The loud words for what stops this cockpit from acting or from being believed ('' when nothing)."""
    if status.journal_error:
        return f"JOURNAL BROKEN: {status.journal_error}"
    if status.driver_gone:
        return "DRIVER GONE: nobody is driving"
    if status.approvals:
        return "WAITING FOR APPROVAL: " + "; ".join(status.approvals)
    return ""
