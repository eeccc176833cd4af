"""The poller: sources on their own cadence, concurrently; a hanging source delays nobody."""

from __future__ import annotations

import asyncio
import time

from cockpit.poller import Poller
from cockpit.series import SeriesStore
from tests.sources import build
from tests.support.exporter import Exporter
from tests.support.httpstub import HttpStub, running_stub
from tests.support.prometheus import TestPrometheus


async def wait_until(pred, deadline_s: float = 10.0, what: str = "condition") -> None:
    end = time.monotonic() + deadline_s
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_hanging_source_never_delays_a_fast_one(stub: HttpStub):
    with running_stub() as slow:
        slow.set(hang=True)
        p = build.profile(
            [
                build.source("fast", "http", url=stub.url("/fast"), interval=0.2, timeout=1.0),
                build.source("slow", "http", url=slow.url("/slow"), interval=0.2, timeout=3.0),
            ],
            [build.signal("f", "fast"), build.signal("s", "slow")],
        )
        store = SeriesStore(p)
        updates: list[str] = []
        poller = Poller(p, store, on_update=updates.append)
        await poller.start()
        try:
            t0 = time.monotonic()
            await wait_until(lambda: store.view("f").seq >= 8, 5.0, "8 fast samples")
            elapsed = time.monotonic() - t0
            # 8 samples at 0.2 s: about 1.4 s, although the slow source has not answered once
            assert elapsed < 2.5, elapsed
            assert store.view("s").seq == 0 and store.view("s").stale_since is None
            # stale first by being overdue (2 * 0.2 + 3 s) or by its timeout, then by the timeout
            await wait_until(lambda: store.view("s").stale_reason == "no answer within 3s", 6.0, "slow source")
            assert store.view("s").stale_since is not None and store.view("s").seq == 0
            assert "f" in updates and "s" in updates
        finally:
            await poller.stop()
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("poll:")]


async def test_backfill_then_live_samples_from_prometheus(exporter: Exporter, prom: TestPrometheus):
    exporter.set("t5_depth", 9, queue="feed")
    prom.wait_for("count_over_time(t5_depth[10s]) >= 3")  # old enough to have a history
    p = build.profile(
        [build.source("prom", "prometheus", url=prom.url, interval=0.3, backfill=30.0)],
        [build.signal("q", "prom", query="sum by (queue) (t5_depth)")],
    )
    store = SeriesStore(p)
    poller = Poller(p, store)
    await poller.start()
    try:
        await wait_until(lambda: store.view("q").seq >= 2, 10.0, "two live samples")
        view = store.view("q")
        assert view.current == {"feed": 9.0}
        assert len(view.series["feed"]) > view.seq  # backfilled points precede the live ones
    finally:
        await poller.stop()


async def test_sample_once_samples_every_signal_concurrently(stub: HttpStub, closed_port: int):
    stub.set(delay=1.0)
    p = build.profile(
        [
            build.source("a", "http", url=stub.url("/a"), timeout=2.0),
            build.source("dead", "http", url=f"http://127.0.0.1:{closed_port}/"),
        ],
        [build.signal("a1", "a"), build.signal("a2", "a", field_="latency"), build.signal("d", "dead")],
    )
    store = SeriesStore(p)
    seen: list[str] = []

    def broken_listener(signal_id: str) -> None:
        seen.append(signal_id)
        raise RuntimeError("listener bug")

    poller = Poller(p, store, on_update=broken_listener)
    t = time.monotonic()
    await poller.sample_once()
    elapsed = time.monotonic() - t
    await poller.stop()
    assert elapsed < 1.8, elapsed  # the two 1 s requests ran side by side (in turn: 2 s)
    assert store.view("a1").current == {"": 200.0}
    assert store.view("d").stale_reason == "connection refused"
    assert sorted(seen) == ["a1", "a2", "d"]  # a listener that raises does not stop sampling


async def test_source_that_cannot_be_built_is_reported(stub: HttpStub):
    p = build.profile(
        [
            build.source("h", "http", url=stub.url(), ca_bundle="/nonexistent/ca.pem"),
            build.source("p", "prometheus", url=stub.url(), ca_bundle="/nonexistent/ca.pem"),
        ],
        [build.signal("hs", "h"), build.signal("ps", "p", query="up")],
    )
    store = SeriesStore(p)
    poller = Poller(p, store)
    await poller.sample_once()
    await poller.stop()
    assert store.view("hs").stale_reason == "ca_bundle /nonexistent/ca.pem: no such file"
    assert store.view("ps").stale_reason == "ca_bundle /nonexistent/ca.pem: no such file"
