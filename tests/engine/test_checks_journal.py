"""Check transitions reach the journal (and the report) from a real HTTP source polled by the controller."""

from __future__ import annotations

import asyncio

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.report import render_markdown
from tests.support.httpstub import running_stub


async def _until(pred, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.05)


async def test_check_transitions_journalled(make_profile) -> None:
    with running_stub() as stub:
        stub.set(status=500)
        extra = f"""
[sources.blue]
kind = "http"
url = "{stub.url('/healthz')}"
interval = "200ms"
timeout = "3s"

[[signal]]
id = "healthz"
source = "blue"
title = "blue /healthz"

[[check]]
signal = "healthz"
title = "healthz 200"
condition = "== 200"
"""
        c = Controller(make_profile(extra=extra))
        seen: list[list[object]] = []
        c.on_checks(seen.append)
        await c.start(connect=False, poll=True)
        try:
            await _until(lambda: c.session.checks.get("healthz") == "failing")
            stub.set(status=200)
            await _until(lambda: c.session.checks.get("healthz") == "ok")
        finally:
            await c.stop()
    entries = [e for e in read_journal(c.journal.path) if e["type"] == "check_transition"]
    pairs = [(e["from"], e["to"]) for e in entries]
    assert pairs[-1][1] == "ok" and any(to == "failing" for _, to in pairs[:-1])   # (an `unknown` may
    # come between them when the loaded machine makes a sample time out)
    assert entries[-1]["check"] == "healthz" and entries[-1]["values"] == {"": 200.0}
    assert seen, "on_checks listeners were not called"
    assert f"`healthz`: {pairs[-1][0]} → ok" in render_markdown(read_journal(c.journal.path))


async def test_a_deadline_passing_in_silence_is_missed(make_profile) -> None:
    """Checks are re-evaluated on a clock: a deadline passes even when no sample arrives."""
    with running_stub() as stub:
        stub.set(status=500)
        extra = f"""
[sources.blue]
kind = "http"
url = "{stub.url('/healthz')}"
interval = "1h"
timeout = "3s"

[[signal]]
id = "healthz"
source = "blue"

[[check]]
signal = "healthz"
condition = "== 200"
within = "1s"
"""
        c = Controller(make_profile(extra=extra))
        await c.start(connect=False, poll=True)
        try:
            await _until(lambda: c.session.checks.get("healthz") == "failing")
            samples = len(stub.requests)
            assert c.start_rollback()
            await _until(lambda: c.session.checks.get("healthz") == "missed", timeout=10)
            assert len(stub.requests) == samples      # no new sample: the tick did it
        finally:
            await c.stop()
