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
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cockpit import escape, rca
from cockpit.durations import format_duration
from cockpit.entries import ATTACH, GUARD
from cockpit.profile.model import Profile
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
    if t == "session_resume" and e.get("handoff_from"):
        who = f"{x(e.get('user'))}@{x(e.get('host'))}"
        return f"{d.bold(who + ' took over driving')} from {x(e.get('handoff_from'))} (handoff)"
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
    if str(t).startswith("held_") or t == "annotation_posted":
        return _held_text(e, d)
    return _two_person_text(e, d)


def _held_text(e: dict[str, Any], d: Dialect) -> str | None:
    """Silences and Grafana annotations (`cockpit.held`): opened, extended, closed, failed."""
    t, x, c = e.get("type"), d.text, d.code
    kind = x(e.get("resource") or "annotation")
    ident = c(e.get("id")) if e.get("id") else ""
    if t == "held_opened":
        until = f" until {_clock(e['until'])}" if isinstance(e.get("until"), int | float) else ""
        return f"{kind} {ident} opened{until}: {x(e.get('what') or '')}"
    if t == "held_extended":
        new = f" (now {c(e['new_id'])})" if e.get("new_id") else ""
        return f"{kind} {ident} extended until {_clock(e.get('until'))}{new}"
    if t == "held_closed":
        return f"{kind} {ident} {x(e.get('how') or 'closed')} ({x(e.get('reason') or '')})"
    if t == "held_failed":
        return f"{d.bold(kind + ' ' + x(e.get('action') or '') + ' FAILED')} {ident}: {x(e.get('reason') or '')}"
    if t == "held_checked":
        return f"{kind} {ident} found {x(e.get('state') or '?')} on resume"
    if t == "annotation_posted":
        return f"Grafana annotation {ident} for {c(e.get('step'))}: {x(e.get('text') or '')}"
    return None


def _two_person_text(e: dict[str, Any], d: Dialect) -> str | None:
    """Approvals and handoffs (cockpit/approval.py, the controller's handoff): who, when, from where."""
    x, c = d.text, d.code
    t, step = e.get("type"), c(e.get("step"))
    if t == "approval_requested":
        hosts = ", ".join(x(h) for h in e.get("hosts") or []) or "the bastion"
        return (f"approval of {step} requested by {x(e.get('by'))}: {c(e.get('command'))} on {hosts} "
                f"(expires {_clock(e.get('expires'))})")
    if t == "approval_granted":
        return (f"{d.bold('approved')} {step} by {x(e.get('by'))} (uid {x(e.get('uid'))}), "
                f"requested by {x(e.get('requested_by'))}")
    if t == "approval_refused":
        return f"approval of {step} {d.bold('refused')} by {x(e.get('by'))}: {x(e.get('reason'))}"
    if t == "approval_rejected":
        return f"an answer for {step} was not accepted: {x(e.get('reason'))}"
    if t == "approval_expired":
        return f"approval request for {step} expired"
    if t == "approval_cancelled":
        return f"wait for approval of {step} cancelled by {x(e.get('by'))}"
    if t == "handoff_offered":
        return f"{x(e.get('by'))} offers to hand over driving to {x(e.get('to'))}"
    if t == "handoff":
        return d.bold(f"{x(e.get('by'))} handed over driving to {x(e.get('to'))}")
    if t in ("observer_joined", "observer_left"):     # browser visitors of `cockpit serve`
        agent = str(e.get("user_agent") or "unknown browser")
        agent = agent if len(agent) <= 80 else agent[:79] + "…"
        who = f"browser visitor {x(e.get('visit'))} from {x(e.get('remote'))} ({x(agent)})"
        if t == "observer_joined":
            return f"{who} started watching (cockpit serve of {x(e.get('by'))})"
        took = e.get("duration")
        after = f" after {format_duration(float(took))}" if isinstance(took, int | float) else ""
        return f"{who} stopped watching{after}: {x(e.get('reason'))}"
    return None


def _timeline(entries: Sequence[dict[str, Any]], d: Dialect = PLAIN) -> list[dict[str, Any]]:
    """The chronological lines; a clean quit and its resume (headless runs) are not events."""
    out: list[dict[str, Any]] = []
    attached = False
    # flapping collapsed here too: a burst is one line at its first transition
    flapped: dict[int, str | None] = {}
    transitions = [e for e in entries if e.get("type") == "check_transition"]
    for burst in (b for bursts in _bursts(transitions, FLAP_GAP).values() for b in bursts if len(b) >= FLAP_MIN):
        states = sorted({str(x.get("to")) for x in burst} | {str(x.get("from")) for x in burst})
        flapped[id(burst[0])] = (
            f"check {d.code(burst[0].get('check'))}: {len(burst)} flaps between {_clock(burst[0]['ts'])} and "
            f"{_clock(burst[-1]['ts'])} ({' / '.join(d.text(x) for x in states)}), last → {d.text(burst[-1].get('to'))}")
        flapped.update({id(x): None for x in burst[1:]})
    for e in entries:
        t = e.get("type")
        if id(e) in flapped:
            line = flapped[id(e)]
            if line is not None:
                out.append({"ts": e["ts"], "time": _iso(float(e["ts"])), "type": t, "text": line})
            continue
        if t == "session_end":
            attached = False
            continue
        if t == "session_resume" and not attached and not e.get("handoff_from"):
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
            ended.update(ended=e.get("ended", e.get("ts")), duration=e.get("duration"), state=e.get("state"),
                         hosts=list(e.get("hosts") or []), reason=e.get("reason"))
    for run in open_runs.values():
        run["state"] = "no end recorded"
    return runs


FLAP_GAP = 120.0   # seconds: transitions of one check closer than this belong to one burst
FLAP_MIN = 4       # a burst of at least this many transitions is shown as one line


def _bursts(transitions: Sequence[dict[str, Any]], gap: float) -> dict[str, list[list[dict[str, Any]]]]:
    """Per check, its transitions in bursts: runs of transitions less than ``gap`` seconds apart."""
    by_check: dict[str, list[list[dict[str, Any]]]] = {}
    for t in transitions:
        bursts = by_check.setdefault(str(t.get("check")), [])
        if bursts and float(t["ts"]) - float(bursts[-1][-1]["ts"]) < gap:
            bursts[-1].append(t)
        else:
            bursts.append([t])
    return by_check


def collapse_flaps(transitions: Sequence[dict[str, Any]], gap: float = FLAP_GAP,
                   least: int = FLAP_MIN) -> list[dict[str, Any]]:
    """Check transitions with flapping collapsed: the single implementation for every report.

    Per check, transitions less than ``gap`` seconds apart form a burst; a burst of at least
    ``least`` transitions becomes one item ``{"check", "flaps": n, "ts" (first), "until" (last),
    "states": [...], "to" (the last state), "evidence" (of the last)}``; shorter bursts stay one
    item per transition (``flaps`` absent). Items are in time order.
    """
    by_check = _bursts(transitions, gap)
    out: list[dict[str, Any]] = []
    for check, bursts in by_check.items():
        for burst in bursts:
            if len(burst) < least:
                out += burst
                continue
            states = sorted({str(x.get("to")) for x in burst} | {str(x.get("from")) for x in burst})
            out.append({"ts": burst[0]["ts"], "until": burst[-1]["ts"], "check": check, "flaps": len(burst),
                        "states": states, "from": burst[0].get("from"), "to": burst[-1].get("to"),
                        "reason": burst[-1].get("reason"), "evidence": burst[-1].get("evidence"),
                        "values": burst[-1].get("values")})
    out.sort(key=lambda t: float(t["ts"]))
    return out


def render_json(entries: Sequence[dict[str, Any]], *, profile: Profile | None = None,
                incident: str | None = None, samples: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report as data (schema: docs/report.md): strict JSON, a non-finite number anywhere is null."""
    data: dict[str, Any] = _finite_only(_report_data(entries, profile=profile, incident=incident, samples=samples))
    return data


def _finite_only(value: Any) -> Any:
    """``value`` with every NaN/±inf replaced by None: a journal field the reader does not declare
    (hand-edited, or written by a newer cockpit) still cannot make the JSON report invalid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_only(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_only(v) for v in value]
    return value


def _report_data(entries: Sequence[dict[str, Any]], *, profile: Profile | None,
                 incident: str | None, samples: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    s = Session.from_entries(entries)
    last_ts = max((float(e.get("ts", 0)) for e in entries), default=None)
    elapsed = s.rto_elapsed(last_ts) if last_ts is not None else None
    budget = s.rto_budget
    achieved = None
    if s.rollback_ended is not None and elapsed is not None and budget is not None:
        achieved = elapsed <= budget
    first = entries[0] if entries else {}
    transitions = [
        {"ts": e["ts"], "check": e.get("check"), "from": e.get("from"), "to": e.get("to"),
         "reason": e.get("reason"), "values": e.get("values"), "evidence": e.get("evidence")}
        for e in entries if e.get("type") == "check_transition"]
    verdicts = {}
    for t in transitions:
        verdicts[str(t["check"])] = {"check": t["check"], "status": t["to"], "since": t["ts"],
                                     "reason": t["reason"], "evidence": t["evidence"]}
    return {
        "summary": rca.summary(entries, profile=profile, incident=incident, samples=samples),
        "session": first.get("session"),
        "profile": s.profile,
        "environment": s.environment,
        "drivers": sorted({f"{e.get('user')}@{e.get('host')}" for e in entries
                           if e.get("type") in ATTACH and e.get("mode") == "driver"}),
        "rto": {"budget": budget, "started": s.rollback_started, "ended": s.rollback_ended,
                "elapsed": elapsed, "within_budget": achieved},
        "steps": _steps(entries),
        "check_transitions": transitions,
        "checks_collapsed": collapse_flaps(transitions),
        "verdicts": list(verdicts.values()),
        "manual_ticks": [{"ts": e["ts"], "step": e.get("step"), "note": e.get("note"), "by": e.get("by")}
                         for e in entries if e.get("type") == "manual_tick"],
        "guard": [{"ts": e["ts"], "type": e["type"], "step": e.get("step"), "reason": e.get("reason")}
                  for e in entries if e.get("type") in GUARD],
        "timeline": _timeline(entries),
        "driving": driving_periods(entries),
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


def render_markdown(entries: Sequence[dict[str, Any]], **extra: Any) -> str:
    """The report in Markdown (CommonMark + GFM tables), for `cockpit report` and the RCA.

    ``extra``: ``profile``, ``incident``, ``samples`` (see `render_json`)."""
    return render(entries, MARKDOWN, **extra)


def render_jira(entries: Sequence[dict[str, Any]]) -> str:
    """The report in Jira wiki markup, for a REST API v2 comment."""
    return render(entries, JIRA)


def render_plain(entries: Sequence[dict[str, Any]]) -> str:
    """The report as plain text, for an ADF (REST API v3) comment, whose text is never markup."""
    return render(entries, PLAIN)


def _summary_lines(data: dict[str, Any], d: Dialect) -> list[str]:
    """The RCA summary block (one bullet per field) and the peaks, per-host and links sections."""
    x, c, b = d.text, d.code, d.bullet
    sm = data["summary"]
    out = [d.heading(3, "Summary"), ""]
    out.append(f"{b}{d.bold('Incident')}: {x(sm['incident'] or '-')} (session {c(sm['session'])})")
    out.append(f"{b}{d.bold('Rollback started')}: {_iso(sm['rollback_started']) or '-'}")
    out.append(f"{b}{d.bold('Service restored at')}: "
               + (_iso(sm["restored_at"]) or "not seen (never every check ok together after the rollback start)"))
    for dl in sm["deadlines"]:
        when = f" at {_clock(dl['at'])}" if dl["at"] is not None else ""
        due = f" (due {_clock(dl['deadline'])})" if dl["deadline"] is not None else ""
        out.append(f"{b}{d.bold('Deadline')} {c(dl['check'])}: {x(dl['verdict'])}{when}{due}")
    rto = sm["rto"]
    if rto["elapsed"] is not None:
        verdict = {True: "met", False: "MISSED", None: "open"}[rto["within_budget"]]
        budget = format_duration(rto["budget"]) if rto["budget"] is not None else "?"
        out.append(f"{b}{d.bold('RTO')}: {format_duration(rto['elapsed'])} of {budget} — {verdict}")
    handoffs = "; ".join(f"{_clock(h['ts'])} {x(h['from'])} → {x(h['to'])}" for h in sm["handoffs"])
    out.append(f"{b}{d.bold('Drivers')}: {', '.join(x(v) for v in sm['drivers']) or '-'}"
               + (f" (handoffs: {handoffs})" if handoffs else ""))
    if sm["approvals"]:
        out.append(f"{b}{d.bold('Approvals')}: " + "; ".join(
            f"{_clock(a.get('ts'))} {x(a.get('step') or '')} by {x(a.get('by'))}" for a in sm["approvals"]))
    if sm["never_run"] is not None:
        out.append(f"{b}{d.bold('Steps never run')}: {', '.join(c(v) for v in sm['never_run']) or 'none'}")
    out.append(f"{b}{d.bold('Overrides')}: " + ("; ".join(
        f"{_clock(o['ts'])} {c(o['step'])} by {x(o['by'] or '?')}" for o in sm["overrides"]) or "none"))
    for h in sm.get("held") or []:
        ids = ", ".join(c(i) for i in h.get("ids") or []) or "-"
        extended = f", extended {h['extended']}×" if h.get("extended") else ""
        fate = x(h.get("how") or "")
        if h.get("left_open"):
            fate = d.bold(fate)
        failed = "; ".join(f"{x(f.get('action'))} failed: {x(f.get('reason'))}" for f in h.get("failures") or [])
        out.append(f"{b}{d.bold('Held by the rollback')}: {x(h.get('kind'))} {ids} ({x(h.get('what') or '')})"
                   f"{extended} — {fate}" + (f" ({failed})" if failed else ""))
    if sm["peaks"]:
        out += ["", d.heading(3, "Peak values during the incident"), ""]
        out += d.table_head(["Signal", "Series", "Peak", "At", "From"])
        for signal, labels in sm["peaks"].items():
            for label, p in labels.items():
                out.append(d.table_row([c(signal), x(label) or "-", x(_num(p["value"])), _clock(p["ts"]),
                                        x(p["source"])]))
    if sm["hosts"]:
        out += ["", d.heading(3, "Per host"), ""]
        out += d.table_head(["Host", "Step", "Result", "Exit", "Recording"])
        for host, runs in sm["hosts"].items():
            for r in runs:
                out.append(d.table_row([x(host), c(r["step"]), x(r["state"]),
                                        x("-" if r["exit_status"] is None else r["exit_status"]),
                                        c(r["recording"]) if r["recording"] else "-"]))
    if sm["links"]:
        out += ["", d.heading(3, "Links"), ""]
        out += [f"{b}{x(link['kind'])} {x(link['title'])}: {c(link['url'])}" for link in sm["links"]]
    return [*out, ""]


def _check_line(t: dict[str, Any], d: Dialect) -> str:
    x, c = d.text, d.code
    if t.get("flaps"):
        return (f"{d.bullet}{_clock(t['ts'])} {c(t['check'])}: {t['flaps']} flaps between {_clock(t['ts'])} and "
                f"{_clock(t['until'])} ({' / '.join(x(s) for s in t['states'])}), last → {x(t['to'])}")
    return f"{d.bullet}{_clock(t['ts'])} {c(t['check'])}: {x(t['from'])} → {x(t['to'])} ({x(t['reason'] or '')})"


def render(entries: Sequence[dict[str, Any]], d: Dialect, **extra: Any) -> str:
    data = render_json(entries, **extra)
    x, c = d.text, d.code
    rto = data["rto"]
    profile = x(data["profile"]) if data["profile"] else "unknown profile"
    env = x(data["environment"]) if data["environment"] else "?"
    out = [d.heading(2, f"Rollback timeline — {profile} ({env})"), ""]
    out += _summary_lines(data, d)
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
        out += [_check_line(t, d) + "".join(f"\n{d.sub_bullet}{line}" for line in evidence_lines(t.get("evidence"), d))
                for t in data["checks_collapsed"]]
        out += ["", d.heading(3, "Verdicts"), ""]
        out += [f"{d.bullet}{c(v['check'])}: {x(v['status'])} since {_clock(v['since'])} ({x(v['reason'] or '')})"
                + "".join(f"\n{d.sub_bullet}{line}" for line in evidence_lines(v.get("evidence"), d))
                for v in data["verdicts"]]
    if data["manual_ticks"]:
        out += ["", d.heading(3, "Manual steps"), ""]
        out += [f"{d.bullet}{_clock(m['ts'])} {c(m['step'])}" + (f" by {x(m['by'])}" if m["by"] else "")
                + (f": {x(m['note'])}" if m["note"] else "") for m in data["manual_ticks"]]
    if data["guard"]:
        out += ["", d.heading(3, "Guard refusals and overrides"), ""]
        out += [f"{d.bullet}{_clock(g['ts'])} {'override' if g['type'] == 'guard_override' else 'refused'} "
                f"{c(g['step'])}: {x(g['reason'])}" for g in data["guard"]]
    if len({p["driver"] for p in data["driving"]}) > 1:
        out += ["", d.heading(3, "Who drove when (UTC)"), ""]
        out += [f"{d.bullet}{_clock(p['from'])} → {_clock(p['to']) if p['to'] is not None else '(open)'} "
                f"{x(p['driver'])}" for p in data["driving"]]
    out += ["", d.heading(3, "Timeline (UTC)"), ""]
    out += [f"{d.bullet}{_clock(t['ts'])} {t['text']}" for t in _timeline(entries, d)]
    return "\n".join(out) + "\n"
