"""The report as one self-contained HTML file (``cockpit report --format html``), for the CAB ticket.

No script, no outside resource: inline CSS, and each signal's samples during the incident as an
inline SVG chart (one polyline per series). Every value from the journal, the samples or the
profile is outside text and goes through `cockpit.escape.html` (links through `html_url`, which
lets only http/https through); only this module's own fixed words are markup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from cockpit.durations import format_duration
from cockpit.escape import html as h
from cockpit.escape import html_url

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
MAX_SERIES = 6        # series drawn per chart
MAX_POINTS = 600      # points per polyline (evenly thinned)
W, H, PAD = 640, 160, 36

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top;font-size:.9em}th{background:#f3f3f3}code{background:#f6f6f6;padding:0 .2em}
.bad{color:#b00020;font-weight:bold}.good{color:#137333;font-weight:bold}.ev{color:#555;font-size:.85em}
svg{background:#fff;border:1px solid #ddd}dl.summary dt{font-weight:bold;float:left;clear:left;width:13em}
dl.summary dd{margin-left:14em}
"""


def _t(ts: object) -> str:
    if not isinstance(ts, int | float) or not math.isfinite(ts):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _c(ts: object) -> str:
    if not isinstance(ts, int | float) or not math.isfinite(ts):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S")


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def chart(signal: str, samples: Sequence[dict[str, Any]], start: float | None, end: float | None) -> str:
    """An inline SVG line chart of one signal's recorded samples within the window ("" without points)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for s in samples:
        if s["signal"] != signal:
            continue
        ts = float(s["ts"])
        if (start is not None and ts < start) or (end is not None and ts > end):
            continue
        for label, v in s["values"].items():
            if label in series or len(series) < MAX_SERIES:
                series.setdefault(label, []).append((ts, float(v)))
    points = [p for pts in series.values() for p in pts]
    if not points:
        return ""
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    v0, v1 = min(0.0, *(p[1] for p in points)), max(p[1] for p in points)
    t1, v1 = (t1 if t1 > t0 else t0 + 1), (v1 if v1 > v0 else v0 + 1)

    def xy(t: float, v: float) -> str:
        x = PAD + (t - t0) / (t1 - t0) * (W - 2 * PAD)
        y = H - PAD / 2 - (v - v0) / (v1 - v0) * (H - PAD)
        return f"{x:.1f},{y:.1f}"

    lines = []
    legend = []
    for i, (label, pts) in enumerate(series.items()):
        step = max(1, math.ceil(len(pts) / MAX_POINTS))
        colour = COLOURS[i % len(COLOURS)]
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{" ".join(xy(t, v) for t, v in pts[::step])}"/>')
        legend.append(f'<span style="color:{colour}">■</span> {h(label or signal)}')
    axis = (f'<text x="2" y="{PAD / 2 + 4:.0f}" font-size="10">{h(_num(v1))}</text>'
            f'<text x="2" y="{H - PAD / 2:.0f}" font-size="10">{h(_num(v0))}</text>'
            f'<text x="{PAD}" y="{H - 2}" font-size="10">{_c(t0)}</text>'
            f'<text x="{W - PAD - 40}" y="{H - 2}" font-size="10">{_c(t1)}</text>')
    return (f'<figure><figcaption><code>{h(signal)}</code></figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
            f'role="img" aria-label="{h(signal)}">{axis}{"".join(lines)}</svg>'
            f'<div>{" ".join(legend)}</div></figure>')


def _evidence(ev: object) -> str:
    if not isinstance(ev, dict):
        return ""
    parts = []
    if ev.get("query"):
        parts.append(f"query ({h(ev.get('source'))}): <code>{h(' '.join(str(ev['query']).split())[:300])}</code>")
    for item in (ev.get("series") or [])[:8] if isinstance(ev.get("series"), list) else []:
        if isinstance(item, dict):
            parts.append(f"{h(item.get('label') or '')}={h(item.get('note') or _num(item.get('value')))}"
                         f" sampled {_c(item.get('ts'))}")
    if ev.get("stale"):
        parts.append(f"stale: {h(ev['stale'])}")
    return f'<div class="ev">{"<br>".join(parts)}</div>' if parts else ""


def render_html(data: dict[str, Any], samples: Sequence[dict[str, Any]] = ()) -> str:
    """The HTML document of a report's data (`cockpit.report.render_json`)."""
    sm = data["summary"]
    rto = sm["rto"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Incident report — {h(sm['incident'] or data['profile'] or '')}</title>",
           f"<style>{CSS}</style></head><body>",
           f"<h1>Incident report — {h(sm['incident'] or '-')}</h1>",
           f"<p>Profile <code>{h(data['profile'])}</code> ({h(data['environment'])}), "
           f"journal session <code>{h(sm['session'])}</code></p>",
           '<h2>Summary</h2><dl class="summary" id="summary">']

    def row(term: str, value: str) -> None:
        out.append(f"<dt>{term}</dt><dd>{value}</dd>")

    row("Rollback started", _t(sm["rollback_started"]))
    row("Rollback ended", _t(sm["rollback_ended"]))
    row("Service restored at", _t(sm["restored_at"]) if sm["restored_at"] is not None
        else '<span class="bad">not seen</span>')
    for dl in sm["deadlines"]:
        cls = {"met": "good", "missed": "bad"}.get(dl["verdict"], "")
        row(f"Deadline <code>{h(dl['check'])}</code>",
            f'<span class="{cls}">{h(dl["verdict"])}</span> at {_c(dl["at"])} (due {_c(dl["deadline"])})')
    if rto["elapsed"] is not None:
        verdict = {True: '<span class="good">met</span>', False: '<span class="bad">MISSED</span>',
                   None: "open"}[rto["within_budget"]]
        budget = format_duration(rto["budget"]) if rto["budget"] is not None else "?"
        row("RTO", f"{h(format_duration(rto['elapsed']))} of {h(budget)} — {verdict}")
    row("Drivers", h(", ".join(sm["drivers"])) or "-")
    if sm["handoffs"]:
        row("Handoffs", "<br>".join(f"{_c(x['ts'])} {h(x['from'])} → {h(x['to'])}" for x in sm["handoffs"]))
    if sm["approvals"]:
        row("Approvals", "<br>".join(f"{_c(a.get('ts'))} {h(a.get('step') or '')} by {h(a.get('by'))}"
                                     for a in sm["approvals"]))
    if sm["never_run"] is not None:
        row("Steps never run", ", ".join(f"<code>{h(s)}</code>" for s in sm["never_run"]) or "none")
    row("Overrides", "<br>".join(f"{_c(o['ts'])} <code>{h(o['step'])}</code> by {h(o['by'] or '?')}: "
                                 f"{h(o['reason'] or '')}" for o in sm["overrides"]) or "none")
    out.append("</dl>")

    if sm["peaks"]:
        out.append("<h2>Peak values during the incident</h2><table><tr><th>Signal</th><th>Series</th>"
                   "<th>Peak</th><th>At</th><th>From</th></tr>")
        for signal, labels in sm["peaks"].items():
            for label, p in labels.items():
                out.append(f"<tr><td><code>{h(signal)}</code></td><td>{h(label) or '-'}</td>"
                           f"<td>{h(_num(p['value']))}</td><td>{_c(p['ts'])}</td><td>{h(p['source'])}</td></tr>")
        out.append("</table>")
    charts = [chart(sig, samples, sm["window"]["from"], sm["window"]["to"])
              for sig in dict.fromkeys(s["signal"] for s in samples)]
    if any(charts):
        out.append("<h2>Signals</h2>" + "".join(charts))

    out.append("<h2>Steps</h2>")
    if data["steps"]:
        out.append("<table><tr><th>Step</th><th>Started</th><th>Ended</th><th>Duration</th><th>Result</th>"
                   "<th>Hosts</th></tr>")
        for r in data["steps"]:
            dur = format_duration(float(r["duration"])) if isinstance(r["duration"], int | float) else "-"
            hosts = "<br>".join(f"{h(x.get('host'))}: {h(x.get('state'))}" for x in r["hosts"]
                                if isinstance(x, dict)) or "-"
            result = h(r["state"]) + (" (override)" if r["override"] else "") + (
                f" — {h(r['reason'])}" if r["reason"] else "")
            out.append(f"<tr><td><code>{h(r['step'])}</code> {h(r['title'] or '')}</td><td>{_c(r['started'])}</td>"
                       f"<td>{_c(r['ended'])}</td><td>{h(dur)}</td><td>{result}</td><td>{hosts}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>(no step was run)</p>")

    if sm["hosts"]:
        out.append("<h2>Per host</h2><table><tr><th>Host</th><th>Step</th><th>Result</th><th>Exit</th>"
                   "<th>Recording</th></tr>")
        for host, runs in sm["hosts"].items():
            for r in runs:
                exit_ = "-" if r["exit_status"] is None else _num(r["exit_status"])
                out.append(f"<tr><td>{h(host)}</td><td><code>{h(r['step'])}</code></td><td>{h(r['state'])}</td>"
                           f"<td>{h(exit_)}</td><td>{h(r['recording'] or '-')}</td></tr>")
        out.append("</table>")

    if data["checks_collapsed"]:
        out.append("<h2>Checks</h2><ul>")
        for t in data["checks_collapsed"]:
            if t.get("flaps"):
                text = (f"{_c(t['ts'])} <code>{h(t['check'])}</code>: {h(t['flaps'])} flaps between {_c(t['ts'])} and "
                        f"{_c(t['until'])} ({h(' / '.join(t['states']))}), last → {h(t['to'])}")
            else:
                text = (f"{_c(t['ts'])} <code>{h(t['check'])}</code>: {h(t['from'])} → {h(t['to'])} "
                        f"({h(t['reason'] or '')})")
            out.append(f"<li>{text}{_evidence(t.get('evidence'))}</li>")
        out.append("</ul><h2>Verdicts</h2><ul>")
        for v in data["verdicts"]:
            out.append(f"<li><code>{h(v['check'])}</code>: {h(v['status'])} since {_c(v['since'])} "
                       f"({h(v['reason'] or '')}){_evidence(v.get('evidence'))}</li>")
        out.append("</ul>")

    if sm["links"]:
        out.append("<h2>Links</h2><ul>")
        for link in sm["links"]:
            url = html_url(link["url"])
            target = f'<a href="{url}">{h(link["title"])}</a>' if url else f"{h(link['title'])} {h(link['url'])}"
            out.append(f"<li>{h(link['kind'])}: {target}</li>")
        out.append("</ul>")

    out.append("<h2>Timeline (UTC)</h2><ul>")
    out += [f"<li>{_c(t['ts'])} {h(t['text'])}</li>" for t in data["timeline"]]
    out.append("</ul></body></html>")
    return "\n".join(out) + "\n"
