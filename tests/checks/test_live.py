"""Checks on live data: the poller feeding a real Prometheus's answers (PromQL, rate()) to the engine."""

from __future__ import annotations

import asyncio
import time

from cockpit.checks import CheckEngine, CheckState
from cockpit.poller import Poller
from cockpit.series import SeriesStore
from tests.sources import build
from tests.support.exporter import Exporter
from tests.support.httpstub import HttpStub
from tests.support.prometheus import TestPrometheus


async def until_status(engine: CheckEngine, store: SeriesStore, check_id: str, status: str,
                       deadline_s: float = 12.0, rollback: float | None = None) -> CheckState:
    end = time.monotonic() + deadline_s
    while True:
        engine.evaluate(store, time.time(), rollback)
        s = next(x for x in engine.states() if x.check_id == check_id)
        if s.status == status:
            return s
        if time.monotonic() > end:
            raise AssertionError(f"{check_id} stayed {s.status}: {s.reason}")
        await asyncio.sleep(0.05)


async def test_queue_depth_and_5xx_rate_checks_on_real_promql(exporter: Exporter, prom: TestPrometheus):
    for q in ("feed", "notifications", "search-index"):
        exporter.set("l1_queue_depth", 10, queue=q)
    exporter.inc("l1_requests_total", 0, code="200")
    exporter.inc("l1_requests_total", 0, code="500")
    prom.wait_for("count(l1_queue_depth) == 3")
    p = build.profile(
        [build.source("prom", "prometheus", url=prom.url, interval=0.25, timeout=2.0)],
        [
            build.signal("queues", "prom", query="sum by (queue) (l1_queue_depth)"),
            build.signal("errors", "prom", query='sum(rate(l1_requests_total{code="500"}[3s]))'),
            build.signal("empty", "prom", query="l1_not_exported"),
        ],
        [
            build.check("queues", "< 100", consecutive=2),
            build.check("errors", "< 1"),
            build.check("empty", "< 1"),
        ],
    )
    store, engine = SeriesStore(p), CheckEngine(p, time.time())
    poller = Poller(p, store)
    await poller.start()
    try:
        ok = await until_status(engine, store, "queues", "ok")
        assert ok.values == {"feed": 10.0, "notifications": 10.0, "search-index": 10.0}
        assert ok.reason.endswith("2/2 consecutive")
        await until_status(engine, store, "errors", "ok")
        empty = await until_status(engine, store, "empty", "unknown")
        assert empty.reason == "no series returned by the query"

        exporter.set("l1_queue_depth", 312, queue="feed")
        failing = await until_status(engine, store, "queues", "failing")
        assert failing.reason == "feed=312 (needs < 100)"

        # 5xx start: the counter grows, rate() over it climbs past the threshold
        end = time.monotonic() + 12
        state = None
        while time.monotonic() < end:
            exporter.inc("l1_requests_total", 20, code="500")
            engine.evaluate(store, time.time(), None)
            state = next(x for x in engine.states() if x.check_id == "errors")
            if state.status == "failing":
                break
            await asyncio.sleep(0.1)
        assert state is not None and state.status == "failing", state
    finally:
        await poller.stop()


async def test_source_dying_after_ok_makes_the_check_unknown(stub: HttpStub):
    p = build.profile(
        [build.source("blue", "http", url=stub.url("/healthz"), interval=0.2, timeout=0.5)],
        [build.signal("healthz", "blue")],
        [build.check("healthz", "== 200", consecutive=2)],
    )
    store, engine = SeriesStore(p), CheckEngine(p, time.time())
    poller = Poller(p, store)
    await poller.start()
    try:
        await until_status(engine, store, "healthz", "ok")
        stub.stop()  # the server goes away: refused connections
        s = await until_status(engine, store, "healthz", "unknown", 5.0)
        assert s.reason.startswith("stale since ")
        end = time.monotonic() + 3  # a kept-alive connection may report "dropped" first
        while not s.reason.endswith("connection refused") and time.monotonic() < end:
            await asyncio.sleep(0.05)
            engine.evaluate(store, time.time(), None)
            s = engine.states()[0]
        assert s.status == "unknown" and s.reason.endswith(": connection refused"), s.reason
    finally:
        await poller.stop()


async def test_hung_poller_goes_stale_after_the_overdue_window(stub: HttpStub):
    """Even if nothing answers and nothing fails (a wedged poller), data goes stale: never ok."""
    p = build.profile(
        [build.source("blue", "http", url=stub.url("/healthz"), interval=0.2, timeout=0.3)],
        [build.signal("healthz", "blue")],
        [build.check("healthz", "== 200")],
    )
    store, engine = SeriesStore(p), CheckEngine(p, time.time())
    poller = Poller(p, store)
    await poller.sample_once()
    await poller.stop()  # no more samples from here on
    await until_status(engine, store, "healthz", "ok", 1.0)
    s = await until_status(engine, store, "healthz", "unknown", 3.0)  # 2 * 0.2 + 0.3 s later
    assert "no answer since" in s.reason


async def test_deadline_missed_live(stub: HttpStub):
    stub.set(status=503)
    p = build.profile(
        [build.source("blue", "http", url=stub.url("/healthz"), interval=0.1, timeout=0.5)],
        [build.signal("healthz", "blue")],
        [build.check("healthz", "== 200", within=0.6)],
    )
    store, engine = SeriesStore(p), CheckEngine(p, time.time())
    poller = Poller(p, store)
    started = time.time()
    await poller.start()
    try:
        failing = await until_status(engine, store, "healthz", "failing", 2.0, rollback=started)
        assert "due by" in failing.reason
        missed = await until_status(engine, store, "healthz", "missed", 3.0, rollback=started)
        assert missed.reason.startswith("deadline missed at ") and "now failing: 503" in missed.reason
        stub.set(status=200)
        late = await until_status(engine, store, "healthz", "missed", 3.0, rollback=started)
        end = time.monotonic() + 3
        while "now ok" not in late.reason and time.monotonic() < end:
            await asyncio.sleep(0.05)
            engine.evaluate(store, time.time(), started)
            late = next(iter(engine.states()))
        assert late.status == "missed" and "now ok: 200 (== 200)" in late.reason
    finally:
        await poller.stop()
