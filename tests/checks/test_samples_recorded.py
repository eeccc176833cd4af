"""#16.1: the driver records what the panels drew (samples.jsonl beside the journal), from a real Prometheus."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.rca import samples_beside
from tests.support.exporter import Exporter
from tests.support.prometheus import TestPrometheus

PROFILE = """
[cockpit]
name = "samples"
environment = "drill"
rto = "15m"

[hosts]
web = ["web-1"]

[sources.prom]
kind = "prometheus"
url = "{prom}"
interval = "250ms"
timeout = "2s"

[[signal]]
id = "depth"
source = "prom"
query = "sum by (queue) (rec_queue_depth)"

[[step]]
id = "start"
title = "Start"
phase = "rollback"
kind = "local"
command = "true"
confirm = "none"
"""


def test_the_driver_records_every_poll_of_every_signal(tmp_path: Path, exporter: Exporter,
                                                       prom: TestPrometheus) -> None:
    exporter.set("rec_queue_depth", 7, queue="feed")
    prom.wait_for("count(rec_queue_depth) >= 1")
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.format(prom=prom.url))

    async def run() -> Path:
        c = Controller(load_profile(path))
        await c.start(connect=False, poll=True)
        try:
            assert c.journal is not None
            async with asyncio.timeout(30):
                while len([s for s in samples_beside(c.journal.path) if s["values"]]) < 3:
                    await asyncio.sleep(0.05)
            return Path(c.journal.path)
        finally:
            await c.stop()

    journal = asyncio.run(run())
    samples = [s for s in samples_beside(journal) if s["values"]]
    assert all(s["signal"] == "depth" and s["values"] == {"feed": 7.0} for s in samples), samples
    ts = [s["ts"] for s in samples]
    assert ts == sorted(ts) and ts[-1] - ts[0] > 0.2           # one line per poll, not one per run
    # an observer records nothing: only the driver writes the evidence folder
    assert Controller(load_profile(path), read_only=True).recorder is None
