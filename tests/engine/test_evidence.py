"""Every check transition in the journal carries its evidence; `cockpit report` shows it.

Real parts: an exporter and a Prometheus on loopback, the real Controller polling it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from cockpit import escape
from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.report import render_json, render_markdown
from tests.support.exporter import running_exporter
from tests.support.prometheus import running_prometheus


async def _until(pred, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.05)


async def test_transitions_carry_query_values_sample_times_and_health(make_profile, tmp_path: Path) -> None:
    with running_exporter() as exp:
        exp.set("e_queue", 12, queue="feed")
        exp.set("e_queue", 3, queue="search-index")
        with running_prometheus(tmp_path / "prom", [exp.target]) as prom:
            prom.wait_for("e_queue")
            query = "sum by (queue) (e_queue)"
            extra = f"""
[sources.prom]
kind = "prometheus"
url = "{prom.url}"
interval = "500ms"
timeout = "1s"
scrape_interval = "1s"
max_age = "2500ms"
targets = ['up{{job="exporter"}}']

[[signal]]
id = "queues"
source = "prom"
query = "{query}"

[[check]]
signal = "queues"
title = "queues < 100"
condition = "< 100"
"""
            c = Controller(make_profile(extra=extra))
            await c.start(connect=False, poll=True)
            try:
                await _until(lambda: c.session.checks.get("queues") == "ok")
                exp.down()
                await _until(lambda: c.session.checks.get("queues") == "unknown")
            finally:
                await c.stop()
    entries = [e for e in read_journal(c.journal.path) if e["type"] == "check_transition"]
    ok = next(e for e in entries if e["to"] == "ok")
    ev = ok["evidence"]
    assert ev["query"] == query and ev["source"] == "prom" and ev["stale"] is None
    assert {s["label"]: s["value"] for s in ev["series"]} == {"feed": 12.0, "search-index": 3.0}
    for s in ev["series"]:
        assert s["ts"] <= ok["ts"] and 0.0 <= s["age"] <= 2.5
        assert abs(ok["ts"] - s["age"] - s["ts"]) < 1.0  # the age is that of the sample at the verdict
    assert ev["health"]["targets"][0]["target"] == exp.target and ev["health"]["targets"][0]["up"] == 1.0
    assert ev["selectors"] == {"e_queue": ev["selectors"]["e_queue"]} and ev["selectors"]["e_queue"] <= 2.5
    down = entries[-1]
    assert down["from"] == "ok" and f"target {exp.target} down since" in down["evidence"]["stale"]
    assert down["evidence"]["health"]["targets"][0]["up"] == 0.0
    json.dumps(entries, allow_nan=False)
    report = render_markdown(read_journal(c.journal.path))
    assert f"query (`prom`): `{query}`" in report
    # the target is outside text, escaped like any other ("127.0.0.1" reads as a list start: "127\\.")
    assert "feed=12 sampled" in report and f"health: {escape.markdown(exp.target)} up=0" in report
    assert f"target {exp.target} down since" in report
    assert render_json(read_journal(c.journal.path))["check_transitions"][-1]["evidence"]["health"]
    assert time.time() - down["ts"] < 60


def test_checks_are_emitted_every_evaluation_and_a_raising_listener_is_contained(make_profile) -> None:
    c = Controller(make_profile())
    seen: list[object] = []

    def broken(_transitions: object) -> None:
        raise LookupError("the app is not composed yet")

    c.on_checks(broken)
    c.on_checks(seen.append)
    c.evaluate_checks()  # must not raise (it runs in the check tick: raising would end the tick)
    c.evaluate_checks()
    assert len(seen) == 2  # every evaluation, transitions or not (check rows show live values)
