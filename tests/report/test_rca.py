"""#16.2: the RCA-grade report: summary fields, peaks, flapping collapsed, verdicts with evidence,
per-host results, links; Markdown, JSON and HTML (every outside value escaped)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cockpit import escape
from cockpit.profile.load import load_profile
from cockpit.report import collapse_flaps
from tests.engine.conftest import cockpit, profile_text
from tests.report.chromium import dump_dom, screenshot

T0 = 1_800_000_000.0          # 2027-01-15 08:00:00 UTC
SESSION = "rca-test-20270115T080000Z"
HOSTILE = "<script>alert(1)</script> & \"quoted\" ' **bold** [x](http://evil.example)"

EXTRA = """
[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9/"

[[signal]]
id = "errors"
source = "prom"
query = "sum(rate(http_5xx[1m]))"

[[signal]]
id = "health"
source = "prom"
query = "probe_success"

[[check]]
id = "errors"
signal = "errors"
condition = "< 1"
within = "5m"

[[check]]
id = "healthz"
signal = "health"
condition = "== 1"

[[check]]
id = "latency"
signal = "errors"
condition = "< 2"
within = "5m"
"""

SLACK = """
[[step]]
id = "announce"
title = "Announce"
phase = "communicate"
kind = "slack"
confirm = "none"
[step.slack]
webhook = "https://hooks.slack.example/services/T/B/x"
text = "rolling back"
dashboards = { "Errors" = "https://grafana.example/d/x?from={from}&to={to}" }

[[step]]
id = "ticket"
title = "Ticket"
phase = "post-rollback"
kind = "jira"
confirm = "none"
[step.jira]
url = "https://jira.example"
issue = "CHG-1234"
token = "literal-token-value"
report = true
"""


def E(dt: float, type_: str, **kw: Any) -> dict[str, Any]:
    return {"ts": T0 + dt, "type": type_, "session": SESSION, **kw}


def tr(dt: float, check: str, frm: str, to: str, **kw: Any) -> dict[str, Any]:
    return E(dt, "check_transition", check=check, title=check, to=to, reason=f"{check} is {to}",
             **{"from": frm}, **kw)


def incident(profile_path: str) -> list[dict[str, Any]]:
    start = dict(mode="driver", profile="engine-test", profile_path=profile_path, environment="drill",
                 rto_budget=900.0)
    es = [E(0, "session_start", user="alice", host="h1", **start),
          E(30, "session_end", user="alice", host="h1"),
          E(40, "session_start", user="bob", host="h2", **start),
          E(60, "rollback_start", by="bob@h2", rto_budget=900.0),
          E(61, "step_start", step="touch", title="Touch", kind="ssh", hosts=["web-1", "web-2"],
            recording=f"{SESSION}.rec/01-touch"),
          E(66, "step_end", step="touch", state="ok", started=T0 + 61, duration=5.0,
            hosts=[{"host": "web-1", "state": "ok", "exit_status": 0, "duration": 5.0, "tail": []},
                   {"host": HOSTILE, "state": "failed", "exit_status": 3, "duration": 4.0, "tail": []}],
            recordings=[{"host": "web-1", "path": f"{SESSION}.rec/01-touch/web-1.cast", "bytes": 10,
                         "truncated": False, "error": None}]),
          tr(62, "errors", "pending", "failing",
             evidence={"query": "sum(rate(http_5xx[1m]))", "source": "prom",
                       "series": [{"label": "", "value": 42.0, "ts": T0 + 61, "age": 1.0}]},
             values={"": 42.0}),
          tr(70, "healthz", "ok", "failing", values={"": 0.0}),
          tr(71, "latency", "ok", "failing", values={"": 5.0}),
          E(80, "guard_override", step="destroy", missing=["touch"], reason=HOSTILE, by="bob@h2")]
    for k in range(23):     # healthz flaps 23 times between +200 and +310, ending ok
        es.append(tr(200 + 5 * k, "healthz", "failing" if k % 2 == 0 else "ok", "ok" if k % 2 == 0 else "failing"))
    es += [tr(200, "errors", "failing", "ok", values={"": 0.0}),
           tr(361, "latency", "failing", "missed"),
           tr(400, "latency", "missed", "ok"),
           E(500, "rollback_end", by="bob@h2", elapsed=440.0, rto_budget=900.0, within_rto=True)]
    return sorted(es, key=lambda e: e["ts"])


def write_incident(tmp_path: Path) -> Path:
    """A drill-like incident's journal, profile and samples in ``tmp_path``; the journal's path."""
    marker_dir = tmp_path / "marks"
    marker_dir.mkdir(exist_ok=True)
    ppath = tmp_path / "p.toml"
    ppath.write_text(profile_text(ssh=None, marker_dir=marker_dir, extra=EXTRA, steps=SLACK))
    load_profile(ppath)      # the profile is valid
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in incident(str(ppath))))
    rec = tmp_path / f"{SESSION}.rec"
    rec.mkdir(exist_ok=True)
    (rec / "samples.jsonl").write_text("".join(
        json.dumps({"ts": T0 + 50 + i * 10, "signal": "errors", "values": {"5xx": v}}) + "\n"
        for i, v in enumerate([1, 5, 42, 17, 3, 0, 0])) + json.dumps(
        {"ts": T0 + 900, "signal": "errors", "values": {"5xx": 99.0}}) + "\n")   # after the incident
    return path


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return write_incident(tmp_path)


def test_summary_fields(journal: Path) -> None:
    r = cockpit("report", str(journal), "--format", "json", "--incident", "INC-77")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    sm = rep["summary"]
    assert sm["incident"] == "INC-77"
    assert sm["rollback_started"] == T0 + 60
    assert sm["restored_at"] == T0 + 400          # errors ok at +200, healthz at +310 (last flap), latency at +400
    dl = {d["check"]: d for d in sm["deadlines"]}
    assert dl["errors"] == {"check": "errors", "within": 300.0, "deadline": T0 + 360, "verdict": "met", "at": T0 + 200}
    assert dl["latency"]["verdict"] == "missed" and dl["latency"]["at"] == T0 + 361
    assert sm["rto"] == {"budget": 900.0, "elapsed": 440.0, "within_budget": True}
    assert sm["drivers"] == ["alice@h1", "bob@h2"]
    assert sm["handoffs"] == [{"ts": T0 + 40, "from": "alice@h1", "to": "bob@h2"}]
    assert sm["never_run"] == ["prepare", "destroy", "finish", "announce", "ticket"]
    assert sm["overrides"] == [{"ts": T0 + 80, "step": "destroy", "by": "bob@h2", "reason": HOSTILE}]
    assert sm["peaks"] == {"errors": {"5xx": {"value": 42, "ts": T0 + 70, "source": "samples"}}}
    assert sm["hosts"]["web-1"][0]["recording"] == f"{SESSION}.rec/01-touch/web-1.cast"
    assert sm["hosts"][HOSTILE][0]["exit_status"] == 3
    links = {link["kind"]: link for link in sm["links"]}
    assert links["dashboard"]["url"] == (f"https://grafana.example/d/x?from={int((T0 + 60) * 1000)}"
                                         f"&to={int((T0 + 500) * 1000)}")
    assert links["jira"] == {"kind": "jira", "title": "CHG-1234", "url": "https://jira.example/browse/CHG-1234"}
    flaps = [c for c in rep["checks_collapsed"] if c.get("flaps")]
    assert flaps == [{**flaps[0], "check": "healthz", "flaps": 23, "ts": T0 + 200, "until": T0 + 310, "to": "ok"}]
    assert len(rep["checks_collapsed"]) == len(rep["check_transitions"]) - 22
    verdicts = {v["check"]: v for v in rep["verdicts"]}
    assert verdicts["errors"]["status"] == "ok" and verdicts["latency"]["since"] == T0 + 400


def test_restored_at_is_not_seen_while_one_check_never_recovers(journal: Path, tmp_path: Path) -> None:
    entries = [json.loads(x) for x in journal.read_text().splitlines()]
    entries = [e for e in entries if not (e.get("check") == "errors" and e.get("to") == "ok")]
    journal.write_text("".join(json.dumps(e) + "\n" for e in entries))
    rep = json.loads(cockpit("report", str(journal), "--format", "json").stdout)
    assert rep["summary"]["restored_at"] is None
    assert {d["check"]: d["verdict"] for d in rep["summary"]["deadlines"]}["errors"] == "missed"


def test_markdown_says_it_in_lines(journal: Path) -> None:
    r = cockpit("report", str(journal))
    assert r.returncode == 0, r.stderr
    md = r.stdout
    assert "**Service restored at**: 2027-01-15 08:06:40 UTC" in md
    assert "**Deadline** `errors`: met at 08:03:20 (due 08:06:00)" in md
    assert "**Deadline** `latency`: missed at 08:06:01" in md
    assert "`healthz`: 23 flaps between 08:03:20 and 08:05:10 (failing / ok), last → ok" in md
    assert "**Steps never run**: `prepare`, `destroy`, `finish`, `announce`, `ticket`" in md
    assert "(handoffs: 08:00:40 alice@h1 → bob@h2)" in md
    assert "| `errors` | 5xx | 42 | 08:01:10 | samples |" in md
    assert len([x for x in md.splitlines() if "healthz" in x]) == 5   # 2 in Checks, 1 verdict, 2 in the timeline
    assert "<script>" not in md and "](http" not in md.replace("\\](", "")


def test_html_escapes_every_outside_value(journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = cockpit("report", str(journal), "--format", "html", "--output", str(out))
    assert r.returncode == 0, r.stderr
    doc = out.read_text()
    assert "<script" not in doc and "alert(1)" in doc      # the hostile host name shows, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#x27;" in doc
    assert re.search(r"<svg[^>]*>.*<polyline", doc, re.S)    # the errors chart
    assert '<a href="https://grafana.example/d/x?from=' in doc and "&amp;to=" in doc
    assert "javascript:" not in doc


def test_escape_html() -> None:
    assert escape.html('<a href="x">\'&\n') == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp; ⏎ "
    assert escape.html_url("javascript:alert(1)") is None
    assert escape.html_url('https://x.example/?a="b"') == "https://x.example/?a=&quot;b&quot;"


def test_collapse_flaps_keeps_lone_transitions() -> None:
    ts = [{"ts": 10.0 * i, "check": "a", "from": "ok", "to": "failing"} for i in range(3)]
    assert collapse_flaps(ts) == ts                                 # 3 < FLAP_MIN
    many = [{"ts": 10.0 * i, "check": "a", "from": "ok", "to": "failing"} for i in range(5)]
    far = {"ts": 1000.0, "check": "a", "from": "failing", "to": "ok"}
    got = collapse_flaps([*many, far])
    assert [g.get("flaps") for g in got] == [5, None] and got[1] is far


def test_the_html_report_renders_in_a_real_browser(journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert cockpit("report", str(journal), "--format", "html", "--output", str(out),
                   "--incident", "INC-77").returncode == 0
    dom = dump_dom(out)
    assert "<h1>Incident report — INC-77</h1>" in dom
    assert "Service restored at</dt><dd>2027-01-15 08:06:40 UTC</dd>" in dom
    assert "<script>" not in dom.split("</head>", 1)[1]           # the hostile value stayed text
    png = screenshot(out, tmp_path / "r.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a page with content, not a blank one
