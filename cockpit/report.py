"""The incident timeline from a journal: Markdown for the RCA, Jira wiki markup for the CAB
comment, plain text for ADF, or JSON.

Built only from journal entries (through `Session` for the rollback state), so it works on any
journal, including one cut mid-line by a crash. Every value taken from the journal is outside
text (server answers, label values, command output, and the journal file itself may be
damaged or planted): it is escaped for the format by `cockpit.escape`, so it can never start a
new line, close a table cell or form a link, an image or a mention. Only this module's own
fixed words are markup. The entries are the ones `cockpit.journal.load_journal`
let through: each checked against its kind (`cockpit.entries`), so every ``ts`` is a
plausible time and every duration a finite number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cockpit import escape
from cockpit.durations import format_duration
from cockpit.entries import ATTACH, GUARD
from cockpit.session import Session

_PIPE = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Dialect:
    """How one format writes the report's few constructs; ``text``/``code`` escape outside values."""

    text: Callable[[object], str]
    code: Callable[[object], str]
    bold: Callable[[str], str]
    heading: Callable[[int, str], str]
    bullet: str
    sub_bullet: str
    table_head: Callable[[list[str]], list[str]]
    table_row: Callable[[list[str]], str]


MARKDOWN = Dialect(
    text=escape.markdown, code=escape.markdown_code, bold=lambda s: f"**{s}**",
    heading=lambda n, s: f"{'#' * n} {s}", bullet="- ", sub_bullet="  - ",
    table_head=lambda cols: ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)],
    # GFM splits table cells on every unescaped `|`, even inside a code span
    table_row=lambda cells: "| " + " | ".join(_PIPE.sub(r"\\|", c) for c in cells) + " |",
)
JIRA = Dialect(
    text=escape.jira, code=escape.jira_code, bold=lambda s: f"*{s}*",
    heading=lambda n, s: f"h{n}. {s}", bullet="* ", sub_bullet="** ",
    table_head=lambda cols: ["||" + "||".join(cols) + "||"],
    table_row=lambda cells: "|" + "|".join(c or " " for c in cells) + "|",
)
PLAIN = Dialect(
    text=escape.one_line, code=lambda v: f"'{escape.one_line(v)}'", bold=lambda s: s,
    heading=lambda n, s: s, bullet="- ", sub_bullet="  - ",
    table_head=lambda cols: [" | ".join(cols)],
    table_row=" | ".join,
)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S")


def _event_text(e: dict[str, Any], d: Dialect = PLAIN) -> str | None:
    """One line of the chronological timeline (None: not shown)."""
    t, x, c = e.get("type"), d.text, d.code
    by = f" by {x(e['by'])}" if e.get("by") else ""
    if t == "session_start":
        return f"cockpit started by {x(e.get('user'))}@{x(e.get('host'))} ({x(e.get('mode', 'driver'))})"
    if t == "session_resume":
        return f"cockpit restarted by {x(e.get('user'))}@{x(e.get('host'))} after a crash: session resumed"
    if t == "rollback_start":
        return f"{d.bold('rollback started')} (RTO clock){by}"
    if t == "rollback_end":
        elapsed = e.get("elapsed")
        took = f" after {format_duration(float(elapsed))}" if isinstance(elapsed, int | float) else ""
        return f"{d.bold('rollback ended')}{took}{by}"
    if t == "step_start":
        hosts = ", ".join(x(h) for h in e.get("hosts") or [])
        where = f" on {hosts}" if hosts else ""
        override = " (override)" if e.get("override") else ""
        cmd = f": {c(e['command'])}" if e.get("command") else ""
        return f"step {c(e.get('step'))} started{where}{override}{cmd}"
    if t == "step_end":
        reason = f" — {x(e['reason'])}" if e.get("reason") else ""
        return f"step {c(e.get('step'))} {x(e.get('state'))}{reason}"
    if t == "guard_refused":
        return f"refused {c(e.get('step'))}: {x(e.get('reason'))}"
    if t == "guard_override":
        return f"override on {c(e.get('step'))}: {x(e.get('reason'))}{by}"
    if t == "check_transition":
        return (f"check {c(e.get('check'))}: {x(e.get('from'))} → {x(e.get('to'))} "
                f"({x(e.get('reason', ''))})")
    if t == "manual_tick":
        note = f": {x(e['note'])}" if e.get("note") else ""
        return f"ticked {c(e.get('step'))}{by}{note}"
    if t == "connection":
        if e.get("event") == "connected":
            return None   # routine; the record keeps it, the timeline shows trouble only
        return f"{x(e.get('host'))}: {x(e.get('event'))} {x(e.get('detail', ''))}".rstrip()
    if t == "journal_repaired":
        return f"journal repaired: {x(e.get('reason'))}"
    if t == "journal_recovered":
        lost = f"; {x(e['lost'])} entries lost" if e.get("lost") else ""
        return (f"{d.bold('the journal could not be written')} from {_clock(e.get('since'))} "
                f"({x(e.get('reason'))}): {x(e.get('late', 0))} entries below were written late{lost}")
    if t == "session_abandoned":
        return f"session closed with {c('cockpit abandon')}{by}: {x(e.get('reason'))}"
    return None


def _timeline(entries: Sequence[dict[str, Any]], d: Dialect = PLAIN) -> list[dict[str, Any]]:
    """The chronological lines; a clean quit and its resume (headless runs) are not events."""
    out: list[dict[str, Any]] = []
    attached = False
    for e in entries:
        t = e.get("type")
        if t == "session_end":
            attached = False
            continue
        if t == "session_resume" and not attached:
            attached = True
            continue
        if t in ATTACH:
            attached = True
        text = _event_text(e, d)
        if text is not None:
            row = {"ts": e["ts"], "time": _iso(float(e["ts"])), "type": t, "text": text}
            if t == "check_transition":
                row["check"] = e.get("check")
            out.append(row)
    return out


def _steps(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run of every step, in start order (a step fired twice appears twice)."""
    runs: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("type") == "step_start":
            run: dict[str, Any] = {
                "step": e.get("step"), "title": e.get("title"), "command": e.get("command"),
                "started": e.get("ts"), "ended": None, "duration": None, "state": "running",
                "override": bool(e.get("override")), "hosts": [], "reason": None, "note": e.get("note")}
            runs.append(run)
            open_runs[str(e.get("step"))] = run
        elif e.get("type") == "step_end":
            ended = open_runs.pop(str(e.get("step")), None)
            if ended is None:
                continue
            ended.update(ended=e.get("ts"), duration=e.get("duration"), state=e.get("state"),
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
                           if e.get("type") in ATTACH and e.get("mode") == "driver"}),
        "rto": {"budget": budget, "started": s.rollback_started, "ended": s.rollback_ended,
                "elapsed": elapsed, "within_budget": achieved},
        "steps": _steps(entries),
        "check_transitions": [
            {"ts": e["ts"], "check": e.get("check"), "from": e.get("from"), "to": e.get("to"),
             "reason": e.get("reason"), "values": e.get("values"), "evidence": e.get("evidence")}
            for e in entries if e.get("type") == "check_transition"],
        "manual_ticks": [{"ts": e["ts"], "step": e.get("step"), "note": e.get("note"), "by": e.get("by")}
                         for e in entries if e.get("type") == "manual_tick"],
        "guard": [{"ts": e["ts"], "type": e["type"], "step": e.get("step"), "reason": e.get("reason")}
                  for e in entries if e.get("type") in GUARD],
        "timeline": _timeline(entries),
    }


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def evidence_lines(ev: object, d: Dialect) -> list[str]:
    """What a check verdict was decided on, one line per part (empty for old journals).

    Every part of the evidence came from outside (label values, the query as journalled, a
    target's address): each is escaped for the format like any other journal value."""
    if not isinstance(ev, dict):
        return []
    x, c = d.text, d.code
    out = []
    if ev.get("query"):
        query = " ".join(str(ev["query"]).split())
        out.append(f"query ({c(ev.get('source'))}): {c(query[:300])}")
    series = ev.get("series") or []
    if isinstance(series, list):
        parts = []
        for item in series[:8]:
            if not isinstance(item, dict):
                continue
            label = f"{x(item.get('label'))}=" if item.get("label") else ""
            value = x(item.get("note") or _num(item.get("value")))
            when = f" sampled {_clock(item['ts'])}" if isinstance(item.get("ts"), int | float) else ""
            age = f", age {x(_num(item.get('age')))}s" if item.get("age") is not None else ""
            parts.append(f"{label}{value}{when}{age}")
        out.append("values: " + ("; ".join(parts) if parts else "no series"))
    health = ev.get("health")
    if isinstance(health, dict):
        targets = ", ".join(
            f"{x(t.get('target'))} up={x(_num(t.get('up')))} (age {x(_num(t.get('age')))}s)"
            for t in health.get("targets") or [] if isinstance(t, dict))
        problem = f" — {x(health['problem'])}" if health.get("problem") else ""
        out.append(f"health: {targets or 'no targets'}{problem}")
    if ev.get("stale"):
        out.append(f"stale: {x(ev['stale'])}")
    return out


def render_markdown(entries: Sequence[dict[str, Any]]) -> str:
    """The report in Markdown (CommonMark + GFM tables), for `cockpit report` and the RCA."""
    return render(entries, MARKDOWN)


def render_jira(entries: Sequence[dict[str, Any]]) -> str:
    """The report in Jira wiki markup, for a REST API v2 comment."""
    return render(entries, JIRA)


def render_plain(entries: Sequence[dict[str, Any]]) -> str:
    """The report as plain text, for an ADF (REST API v3) comment, whose text is never markup."""
    return render(entries, PLAIN)


def render(entries: Sequence[dict[str, Any]], d: Dialect) -> str:
    data = render_json(entries)
    x, c = d.text, d.code
    rto = data["rto"]
    profile = x(data["profile"]) if data["profile"] else "unknown profile"
    env = x(data["environment"]) if data["environment"] else "?"
    out = [d.heading(2, f"Rollback timeline — {profile} ({env})"), ""]
    budget = format_duration(rto["budget"]) if rto["budget"] is not None else "?"
    if rto["started"] is None:
        out.append(f"{d.bullet}{d.bold('RTO')}: the rollback was not started (budget {budget})")
    else:
        took = format_duration(rto["elapsed"]) if rto["elapsed"] is not None else "?"
        if rto["ended"] is None:
            verdict = f"not ended ({took} elapsed at the last entry)"
        else:
            verdict = f"{took} of {budget} — {d.bold('met' if rto['within_budget'] else 'MISSED')}"
        out.append(f"{d.bullet}{d.bold('RTO')}: {verdict}")
        out.append(f"{d.bullet}{d.bold('Rollback')}: {_iso(rto['started'])} → {_iso(rto['ended']) or '(open)'}")
    out.append(f"{d.bullet}{d.bold('Driver(s)')}: {', '.join(x(v) for v in data['drivers']) or '-'}")
    out.append(f"{d.bullet}{d.bold('Journal session')}: {c(data['session'])}")
    out += ["", d.heading(3, "Steps"), ""]
    if data["steps"]:
        out += d.table_head(["Step", "Started", "Ended", "Duration", "Result", "Hosts"])
        for r in data["steps"]:
            hosts = "; ".join(
                f"{x(h.get('host'))}: {x(h.get('state'))}"
                + (f" (exit {x(h['exit_status'])})" if h.get("exit_status") is not None else "")
                for h in r["hosts"] if isinstance(h, dict)) or "-"
            result = x(r["state"]) + (" (override)" if r["override"] else "")
            if r["reason"]:
                result += f" — {x(r['reason'])}"
            dur = format_duration(float(r["duration"])) if isinstance(r["duration"], int | float) else "-"
            title = f" {x(r['title'])}" if r["title"] else ""
            out.append(d.table_row([f"{c(r['step'])}{title}", _clock(r["started"]), _clock(r["ended"]),
                                    dur, result, hosts]))
    else:
        out.append("(no step was run)")
    if data["check_transitions"]:
        out += ["", d.heading(3, "Checks"), ""]
        out += check_lines(data["check_transitions"], d)
    if data["manual_ticks"]:
        out += ["", d.heading(3, "Manual steps"), ""]
        out += [f"{d.bullet}{_clock(m['ts'])} {c(m['step'])}" + (f" by {x(m['by'])}" if m["by"] else "")
                + (f": {x(m['note'])}" if m["note"] else "") for m in data["manual_ticks"]]
    if data["guard"]:
        out += ["", d.heading(3, "Guard refusals and overrides"), ""]
        out += [f"{d.bullet}{_clock(g['ts'])} {'override' if g['type'] == 'guard_override' else 'refused'} "
                f"{c(g['step'])}: {x(g['reason'])}" for g in data["guard"]]
    out += ["", d.heading(3, "Timeline (UTC)"), ""]
    out += timeline_lines(_timeline(entries, d), data["check_transitions"], d)
    return "\n".join(out) + "\n"


FLAP_MIN = 4          # transitions of one check, back and forth, to count as flapping
FLAP_GAP = 300.0      # seconds: a quieter gap than this ends a flapping run


def flapping_runs(transitions: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The check transitions grouped into runs: consecutive transitions of one check less than
    FLAP_GAP apart (other checks' transitions may come between). A run of FLAP_MIN or more is flapping."""
    runs: list[list[dict[str, Any]]] = []
    open_run: dict[str, list[dict[str, Any]]] = {}
    for c in transitions:
        key = str(c.get("check"))
        run = open_run.get(key)
        if run is not None and float(c["ts"]) - float(run[-1]["ts"]) < FLAP_GAP:
            run.append(c)
            continue
        run = [c]
        open_run[key] = run
        runs.append(run)
    return runs


def _flap_text(run: Sequence[dict[str, Any]], d: Dialect) -> str:
    """One flapping run as one line (without bullet or time): its states, count and last verdict."""
    x, c = d.text, d.code
    states = sorted({str(t.get("to")) for t in run} | {str(run[0].get("from"))})
    last = run[-1]
    return (f"{c(run[0].get('check'))}: flapping {' ↔ '.join(x(s) for s in states)}, {len(run)} transitions "
            f"until {_clock(last['ts'])} (last → {x(last.get('to'))}: {x(last.get('reason') or '')})")


def _transition_text(t: dict[str, Any], d: Dialect) -> str:
    x, c = d.text, d.code
    return (f"{c(t['check'])}: {x(t['from'])} → {x(t['to'])} ({x(t['reason'] or '')})"
            + "".join(f"\n{d.sub_bullet}{line}" for line in evidence_lines(t.get("evidence"), d)))


def check_lines(transitions: Sequence[dict[str, Any]], d: Dialect) -> list[str]:
    """The Checks section: one line per transition with its evidence, a flapping run collapsed
    into one line with its count."""
    out: list[tuple[float, str]] = []
    for run in flapping_runs(transitions):
        if len(run) >= FLAP_MIN:
            out.append((float(run[0]["ts"]), f"{d.bullet}{_clock(run[0]['ts'])} {_flap_text(run, d)}"))
        else:
            out += [(float(t["ts"]), f"{d.bullet}{_clock(t['ts'])} {_transition_text(t, d)}") for t in run]
    return [line for _ts, line in sorted(out, key=lambda item: item[0])]


def timeline_lines(timeline: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]],
                   d: Dialect) -> list[str]:
    """The timeline, with each flapping run of a check shown once (where it began) instead of per transition."""
    flapping = [run for run in flapping_runs(transitions) if len(run) >= FLAP_MIN]
    hidden = {(float(t["ts"]), str(t.get("check"))) for run in flapping for t in run}
    first = {(float(run[0]["ts"]), str(run[0].get("check"))): _flap_text(run, d) for run in flapping}
    out = []
    for t in timeline:
        ts = float(t["ts"])
        key = (ts, str(t.get("check")))
        if t["type"] == "check_transition" and key in hidden:
            if key in first:
                out.append(f"{d.bullet}{_clock(ts)} {first.pop(key)}")
            continue
        out.append(f"{d.bullet}{_clock(ts)} {t['text']}")
    return out
