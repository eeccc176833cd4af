"""The incident timeline from a journal: Markdown for the RCA comment, or JSON.

Built only from journal entries (through `Session` for the rollback state), so
it works on any journal, including one cut mid-line by a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cockpit.durations import format_duration
from cockpit.session import Session


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S")


def _event_text(e: dict[str, Any]) -> str | None:
    """One line of the chronological timeline (None: not shown)."""
    t = e.get("type")
    by = f" by {e['by']}" if e.get("by") else ""
    if t == "session_start":
        return f"cockpit started by {e.get('user')}@{e.get('host')} ({e.get('mode', 'driver')})"
    if t == "session_resume" and e.get("handoff_from"):
        return f"**{e.get('user')}@{e.get('host')} took over driving** from {e.get('handoff_from')} (handoff)"
    if t == "session_resume":
        return f"cockpit restarted by {e.get('user')}@{e.get('host')} after a crash: session resumed"
    if t == "rollback_start":
        return f"**rollback started** (RTO clock){by}"
    if t == "rollback_end":
        elapsed = e.get("elapsed")
        took = f" after {format_duration(float(elapsed))}" if isinstance(elapsed, int | float) else ""
        return f"**rollback ended**{took}{by}"
    if t == "step_start":
        hosts = ", ".join(e.get("hosts") or [])
        where = f" on {hosts}" if hosts else ""
        override = " (override)" if e.get("override") else ""
        cmd = f": `{e['command']}`" if e.get("command") else ""
        return f"step `{e.get('step')}` started{where}{override}{cmd}"
    if t == "step_end":
        reason = f" — {e['reason']}" if e.get("reason") else ""
        return f"step `{e.get('step')}` {e.get('state')}{reason}"
    if t == "guard_refused":
        return f"refused `{e.get('step')}`: {e.get('reason')}"
    if t == "guard_override":
        return f"override on `{e.get('step')}`: {e.get('reason')}{by}"
    if t == "check_transition":
        return f"check `{e.get('check')}`: {e.get('from')} → {e.get('to')} ({e.get('reason', '')})"
    if t == "manual_tick":
        note = f": {e['note']}" if e.get("note") else ""
        return f"ticked `{e.get('step')}`{by}{note}"
    if t == "connection":
        if e.get("event") == "connected":
            return None   # routine; the record keeps it, the timeline shows trouble only
        return f"{e.get('host')}: {e.get('event')} {e.get('detail', '')}".rstrip()
    if t == "journal_repaired":
        return f"journal repaired: {e.get('reason')}"
    return _two_person_text(e)


def _two_person_text(e: dict[str, Any]) -> str | None:
    """Approvals and handoffs (cockpit/approval.py, the controller's handoff): who, when, from where."""
    t, step = e.get("type"), e.get("step")
    if t == "approval_requested":
        hosts = ", ".join(e.get("hosts") or []) or "the bastion"
        return (f"approval of `{step}` requested by {e.get('by')}: `{e.get('command')}` on {hosts} "
                f"(expires {_clock(e.get('expires'))})")
    if t == "approval_granted":
        return f"**approved** `{step}` by {e.get('by')} (uid {e.get('uid')}), requested by {e.get('requested_by')}"
    if t == "approval_refused":
        return f"approval of `{step}` **refused** by {e.get('by')}: {e.get('reason')}"
    if t == "approval_rejected":
        return f"an answer for `{step}` was not accepted: {e.get('reason')}"
    if t == "approval_expired":
        return f"approval request for `{step}` expired"
    if t == "approval_cancelled":
        return f"wait for approval of `{step}` cancelled by {e.get('by')}"
    if t == "handoff_offered":
        return f"{e.get('by')} offers to hand over driving to {e.get('to')}"
    if t == "handoff":
        return f"**{e.get('by')} handed over driving to {e.get('to')}**"
    return None


def _timeline(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chronological lines; a clean quit and its resume (headless runs) are not events."""
    out: list[dict[str, Any]] = []
    attached = False
    for e in entries:
        t = e.get("type")
        if t == "session_end":
            attached = False
            continue
        if t == "session_resume" and not attached and not e.get("handoff_from"):
            attached = True
            continue
        if t in ("session_start", "session_resume"):
            attached = True
        text = _event_text(e)
        if text is not None:
            out.append({"ts": e["ts"], "time": _iso(float(e["ts"])), "type": t, "text": text})
    return out


def driving_periods(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who drove when: ``[{driver, from, to}]`` from each driver attachment to its end (or the next one)."""
    out: list[dict[str, Any]] = []
    for e in entries:
        t = e.get("type")
        if t in ("session_start", "session_resume") and e.get("mode", "driver") == "driver":
            who = f"{e.get('user')}@{e.get('host')}"
            if out and out[-1]["driver"] == who:     # the same person again (headless runs): one period
                out[-1]["to"] = None
                continue
            if out and out[-1]["to"] is None:
                out[-1]["to"] = e["ts"]
            out.append({"driver": who, "from": e["ts"], "to": None})
        elif t == "session_end" and out and out[-1]["to"] is None:
            out[-1]["to"] = e["ts"]
    return out


def _steps(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run of every step, in start order (a step fired twice appears twice)."""
    runs: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("type") == "step_start":
            run = {"step": e.get("step"), "title": e.get("title"), "command": e.get("command"),
                   "started": e.get("ts"), "ended": None, "duration": None, "state": "running",
                   "override": bool(e.get("override")), "hosts": [], "reason": None, "note": e.get("note")}
            runs.append(run)
            open_runs[str(e.get("step"))] = run
        elif e.get("type") == "step_end":
            run = open_runs.pop(str(e.get("step")), None)
            if run is None:
                continue
            run.update(ended=e.get("ts"), duration=e.get("duration"), state=e.get("state"),
                       hosts=list(e.get("hosts") or []), reason=e.get("reason"))
    for run in open_runs.values():
        run["state"] = "no end recorded"
    return runs


def render_json(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    s = Session.from_entries(entries)
    last_ts = max((float(e.get("ts", 0)) for e in entries), default=None)
    elapsed = s.rto_elapsed(last_ts) if last_ts is not None else None
    budget = s.rto_budget
    achieved = None
    if s.rollback_ended is not None and elapsed is not None and budget is not None:
        achieved = elapsed <= budget
    first = entries[0] if entries else {}
    return {
        "session": first.get("session"),
        "profile": s.profile,
        "environment": s.environment,
        "drivers": sorted({f"{e.get('user')}@{e.get('host')}" for e in entries
                           if e.get("type") in ("session_start", "session_resume") and e.get("mode") == "driver"}),
        "rto": {"budget": budget, "started": s.rollback_started, "ended": s.rollback_ended,
                "elapsed": elapsed, "within_budget": achieved},
        "steps": _steps(entries),
        "check_transitions": [
            {"ts": e["ts"], "check": e.get("check"), "from": e.get("from"), "to": e.get("to"),
             "reason": e.get("reason"), "values": e.get("values")}
            for e in entries if e.get("type") == "check_transition"],
        "manual_ticks": [{"ts": e["ts"], "step": e.get("step"), "note": e.get("note"), "by": e.get("by")}
                         for e in entries if e.get("type") == "manual_tick"],
        "guard": [{"ts": e["ts"], "type": e["type"], "step": e.get("step"), "reason": e.get("reason")}
                  for e in entries if e.get("type") in ("guard_refused", "guard_override")],
        "timeline": _timeline(entries),
        "driving": driving_periods(entries),
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(entries: Sequence[dict[str, Any]]) -> str:
    data = render_json(entries)
    rto = data["rto"]
    out = [f"## Rollback timeline — {data['profile'] or 'unknown profile'} ({data['environment'] or '?'})", ""]
    budget = format_duration(rto["budget"]) if rto["budget"] is not None else "?"
    if rto["started"] is None:
        out.append(f"- **RTO**: the rollback was not started (budget {budget})")
    else:
        took = format_duration(rto["elapsed"]) if rto["elapsed"] is not None else "?"
        if rto["ended"] is None:
            verdict = f"not ended ({took} elapsed at the last entry)"
        else:
            verdict = f"{took} of {budget} — **{'met' if rto['within_budget'] else 'MISSED'}**"
        out.append(f"- **RTO**: {verdict}")
        out.append(f"- **Rollback**: {_iso(rto['started'])} → {_iso(rto['ended']) or '(open)'}")
    out.append(f"- **Driver(s)**: {', '.join(data['drivers']) or '-'}")
    out.append(f"- **Journal session**: `{data['session']}`")
    out += ["", "### Steps", ""]
    if data["steps"]:
        out.append("| Step | Started | Ended | Duration | Result | Hosts |")
        out.append("|---|---|---|---|---|---|")
        for r in data["steps"]:
            hosts = "; ".join(
                f"{h.get('host')}: {h.get('state')}"
                + (f" (exit {h['exit_status']})" if h.get("exit_status") is not None else "")
                for h in r["hosts"]) or "-"
            result = str(r["state"]) + (" (override)" if r["override"] else "")
            if r["reason"]:
                result += f" — {r['reason']}"
            dur = format_duration(float(r["duration"])) if r["duration"] is not None else "-"
            out.append(f"| `{_cell(r['step'])}` {_cell(r['title'] or '')} | {_clock(r['started'])} | "
                       f"{_clock(r['ended'])} | {dur} | {_cell(result)} | {_cell(hosts)} |")
    else:
        out.append("(no step was run)")
    if data["check_transitions"]:
        out += ["", "### Checks", ""]
        out += [f"- {_clock(c['ts'])} `{c['check']}`: {c['from']} → {c['to']} ({c['reason'] or ''})"
                for c in data["check_transitions"]]
    if data["manual_ticks"]:
        out += ["", "### Manual steps", ""]
        out += [f"- {_clock(m['ts'])} `{m['step']}`" + (f" by {m['by']}" if m["by"] else "")
                + (f": {m['note']}" if m["note"] else "") for m in data["manual_ticks"]]
    if data["guard"]:
        out += ["", "### Guard refusals and overrides", ""]
        out += [f"- {_clock(g['ts'])} {'override' if g['type'] == 'guard_override' else 'refused'} "
                f"`{g['step']}`: {g['reason']}" for g in data["guard"]]
    if len({p["driver"] for p in data["driving"]}) > 1:
        out += ["", "### Who drove when (UTC)", ""]
        out += [f"- {_clock(p['from'])} → {_clock(p['to']) if p['to'] is not None else '(open)'} {p['driver']}"
                for p in data["driving"]]
    out += ["", "### Timeline (UTC)", ""]
    out += [f"- {_clock(t['ts'])} {t['text']}" for t in data["timeline"]]
    return "\n".join(out) + "\n"
