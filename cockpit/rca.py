"""The RCA summary of an incident, computed from its journal (and, when at hand, its profile and samples).

What the CAB asks first, each derived from journal entries only (plus the profile for the steps
never run, the deadlines and the links, and the recorded samples for the peaks):

- ``restored_at``: the first time, at or after the rollback start, that every check the journal
  knows was ``ok`` together (a check is known from its first transition; its state before that
  transition is the transition's ``from``);
- per check with a ``within`` deadline: met (and when it became ok) or missed (and when);
- peaks per signal and label during the incident window (rollback start → end, else the
  journal's first → last entry) from ``samples.jsonl``, else from the values the checks
  journalled;
- drivers and handoffs (a change of driver between attachments), approvals (entries of a kind
  named ``approval``, when a journal has them), overrides and who made them, steps never run;
- per-host results of every step run and their recordings.

The values are raw (outside text): the renderers escape them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cockpit.entries import ATTACH
from cockpit.profile.model import Profile
from cockpit.recording import folder_for, read_samples
from cockpit.session import Session


def _window(entries: Sequence[dict[str, Any]], s: Session) -> tuple[float | None, float | None]:
    first = float(entries[0]["ts"]) if entries else None
    last = max((float(e["ts"]) for e in entries), default=None)
    start = s.rollback_started if s.rollback_started is not None else first
    end = s.rollback_ended if s.rollback_ended is not None else last
    return start, end


def check_history(entries: Sequence[dict[str, Any]]) -> dict[str, list[tuple[float, str]]]:
    """Check id -> [(ts, status)], starting with the state before its first transition (ts -inf)."""
    out: dict[str, list[tuple[float, str]]] = {}
    for e in entries:
        if e.get("type") != "check_transition" or not isinstance(e.get("check"), str):
            continue
        hist = out.setdefault(e["check"], [])
        if not hist and isinstance(e.get("from"), str):
            hist.append((-math.inf, e["from"]))
        hist.append((float(e["ts"]), str(e.get("to"))))
    return out


def state_at(history: list[tuple[float, str]], ts: float) -> str | None:
    state = None
    for t, status in history:
        if t > ts:
            break
        state = status
    return state


def restored_at(entries: Sequence[dict[str, Any]], since: float | None) -> float | None:
    """The first time at or after ``since`` that every known check was ok together."""
    hist = check_history(entries)
    if not hist:
        return None
    since = -math.inf if since is None else since
    moments = sorted({since} | {t for h in hist.values() for t, _ in h if t >= since})
    for t in moments:
        if all(state_at(h, t) == "ok" for h in hist.values()):
            return None if math.isinf(t) else t
    return None


def deadlines(entries: Sequence[dict[str, Any]], profile: Profile | None,
              rollback_started: float | None, last_ts: float | None) -> list[dict[str, Any]]:
    """Per check with a deadline: ``{check, deadline, verdict: met|missed|pending|unknown, at}``."""
    hist = check_history(entries)
    within: dict[str, float] = {}
    if profile is not None:
        within = {c.id: float(c.within) for c in profile.checks if c.within}
    for e in entries:      # the deadline as journalled (newer journals), else from the profile
        if e.get("type") == "check_transition" and isinstance(e.get("deadline"), int | float) \
                and rollback_started is not None:
            within.setdefault(str(e.get("check")), float(e["deadline"]) - rollback_started)
    missed = {str(e.get("check")): float(e["ts"]) for e in reversed(entries)
              if e.get("type") == "check_transition" and e.get("to") == "missed"}
    out = []
    for check, span in sorted(within.items()):
        deadline = rollback_started + span if rollback_started is not None else None
        h = hist.get(check, [])
        verdict, at = "unknown", None
        if check in missed:
            verdict, at = "missed", missed[check]
        elif deadline is not None and last_ts is not None and last_ts < deadline:
            verdict = "pending"
        elif deadline is not None:
            state = state_at(h, deadline) if h else None
            if state == "ok":
                verdict = "met"
                ok_since = [t for t, st in h if st == "ok" and t <= deadline]
                at = ok_since[-1] if ok_since and not math.isinf(ok_since[-1]) else rollback_started
            elif not h:
                verdict = "met"     # never left its first state: a check that never changed was ok
                at = rollback_started
            elif state is not None:
                verdict = "missed"
                at = deadline
        out.append({"check": check, "within": span, "deadline": deadline, "verdict": verdict, "at": at})
    return out


def peaks(samples: Sequence[dict[str, Any]], entries: Sequence[dict[str, Any]],
          start: float | None, end: float | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Signal -> label -> ``{value, ts, source}``: the highest value seen during the window."""
    out: dict[str, dict[str, dict[str, Any]]] = {}

    def see(signal: str, label: str, value: object, ts: float, source: str) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return
        if (start is not None and ts < start) or (end is not None and ts > end):
            return
        best = out.setdefault(signal, {}).get(label)
        if best is None or value > best["value"]:
            out[signal][label] = {"value": value, "ts": ts, "source": source}

    for s in samples:
        for label, value in s["values"].items():
            see(s["signal"], label, value, float(s["ts"]), "samples")
    if not samples:
        for e in entries:
            if e.get("type") == "check_transition" and isinstance(e.get("values"), dict):
                given = e.get("evidence")
                ev: dict[str, Any] = given if isinstance(given, dict) else {}
                signal = str(ev.get("signal") or e.get("check"))
                for label, value in e["values"].items():
                    see(signal, str(label), value, float(e["ts"]), "check values")
    return out


def host_results(entries: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Host -> every step run on it: ``{step, ended, state, exit_status, duration, error, recording}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        if e.get("type") != "step_end":
            continue
        recs = {r.get("host"): r.get("path") for r in e.get("recordings") or [] if isinstance(r, dict)}
        for h in e.get("hosts") or []:
            if not isinstance(h, dict):
                continue
            out.setdefault(str(h.get("host")), []).append({
                "step": e.get("step"), "ended": e.get("ended", e["ts"]), "state": h.get("state"),
                "exit_status": h.get("exit_status"), "duration": h.get("duration"), "error": h.get("error"),
                "recording": recs.get(h.get("host"))})
    return out


def links(profile: Profile | None, start: float | None, end: float | None) -> list[dict[str, str]]:
    """Dashboards (``{from}``/``{to}`` as the incident window, ms) and Jira issues named in the profile."""
    if profile is None:
        return []
    out: list[dict[str, str]] = []
    window = {"from": str(int((start or 0) * 1000)), "to": str(int((end or 0) * 1000)),
              "from_s": str(int(start or 0)), "to_s": str(int(end or 0))}
    grafana = getattr(profile, "grafana", None)
    for title, url in (getattr(grafana, "dashboards", None) or {}).items():
        shown = url
        for k, v in window.items():
            shown = shown.replace("{" + k + "}", v)
        out.append({"kind": "dashboard", "title": title, "url": shown})
    for step in profile.steps:
        slack = getattr(step, "slack", None)
        for title, url in (getattr(slack, "dashboards", None) or {}).items():
            shown = url
            for k, v in window.items():
                shown = shown.replace("{" + k + "}", v)
            if not any(link["url"] == shown for link in out):
                out.append({"kind": "dashboard", "title": title, "url": shown})
        jira = getattr(step, "jira", None)
        if jira is not None and getattr(jira, "issue", None):
            base = str(getattr(jira, "url", "") or "").rstrip("/")
            url = f"{base}/browse/{jira.issue}" if base else ""
            if not any(link["title"] == jira.issue for link in out):
                out.append({"kind": "jira", "title": jira.issue, "url": url})
    return out


def summarize_held(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Silences and Grafana regions the rollback held, each with its fate (`cockpit.held.summarize`)."""
    from cockpit.held import summarize

    return summarize(entries)


def summary(entries: Sequence[dict[str, Any]], *, profile: Profile | None = None,
            incident: str | None = None, samples: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The summary block of the report (see docs/report.md for every field)."""
    s = Session.from_entries(entries)
    start, end = _window(entries, s)
    last_ts = max((float(e["ts"]) for e in entries), default=None)
    attaches = [e for e in entries if e.get("type") in ATTACH and e.get("mode", "driver") == "driver"]
    drivers: list[str] = []
    handoffs = []
    for e in attaches:
        who = f"{e.get('user')}@{e.get('host')}"
        if drivers and drivers[-1] != who:
            handoffs.append({"ts": e["ts"], "from": drivers[-1], "to": who})
        drivers.append(who)
    handoffs += [{"ts": e["ts"], "from": e.get("from"), "to": e.get("to")}
                 for e in entries if e.get("type") == "handoff"]
    ran = {e.get("step") for e in entries if e.get("type") in ("step_start", "manual_tick")}
    never = [st.id for st in profile.steps if st.id not in ran] if profile is not None else None
    overrides = [{"ts": e["ts"], "step": e.get("step"), "by": e.get("by"), "reason": e.get("reason")}
                 for e in entries if e.get("type") == "guard_override"]
    elapsed = s.rto_elapsed(last_ts) if last_ts is not None else None
    budget = s.rto_budget if s.rto_budget is not None else (profile.cockpit.rto if profile else None)
    first = entries[0] if entries else {}
    name = incident or (profile.cockpit.name if profile else None) or first.get("profile")
    return {
        "incident": name,
        "session": first.get("session"),
        "drivers": list(dict.fromkeys(drivers)),
        "handoffs": handoffs,
        "approvals": [{k: v for k, v in e.items() if k != "session"} for e in entries
                      if str(e.get("type", "")).startswith("approval")],
        "rollback_started": s.rollback_started,
        "rollback_ended": s.rollback_ended,
        "restored_at": restored_at(entries, s.rollback_started),
        "deadlines": deadlines(entries, profile, s.rollback_started, last_ts),
        "rto": {"budget": budget, "elapsed": elapsed,
                "within_budget": (elapsed <= budget) if (s.rollback_ended is not None and elapsed is not None
                                                         and budget is not None) else None},
        "never_run": never,
        "overrides": overrides,
        "window": {"from": start, "to": end},
        "peaks": peaks(samples or [], entries, start, end),
        "hosts": host_results(entries),
        "links": links(profile, start, end),
        "held": summarize_held(entries),
    }


def samples_beside(journal: Path) -> list[dict[str, Any]]:
    """The samples recorded beside a journal (none when it has no evidence folder)."""
    return read_samples(folder_for(journal) / "samples.jsonl")
