"""Fault suite on a real Prometheus: a check is never ok while its data is stale, and says why.

Every test runs its own Prometheus (scraping every second) and exporter on loopback, a real
Poller/SeriesStore/CheckEngine polling every ``POLL`` seconds, and injects one fault:

- Prometheus restarted with the target away: the old samples come back with their old
  timestamps for up to the 5-minute lookback (the defect of issue #10);
- Prometheus restarted with the target back, holding a changed value;
- the target down / hanging / serving garbage, under a recording rule that keeps
  evaluating over the last 30 s of counters (the rule-based 5xx check must leave ok
  within 2 scrape intervals + the query interval);
- NaN / ±Inf values; empty vectors; Prometheus frozen by SIGSTOP.

Each asserts that no observation after the fault is ``ok`` and that the reason is shown.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.checks import CheckEngine, CheckState
from cockpit.commands.status import as_json
from cockpit.poller import Poller
from cockpit.profile.model import Profile
from cockpit.series import SeriesStore
from cockpit.tui.present import check_row, panel_data
from tests.sources import build
from tests.support.exporter import Exporter, running_exporter
from tests.support.prometheus import TestPrometheus, running_prometheus

SCRAPE = 1.0  # Prometheus's scrape and rule evaluation interval
POLL = 0.5  # the cockpit's query interval
MAX_AGE = 2 * SCRAPE + 0.5  # one missed scrape is tolerated, two are not
LOAD_SLACK = 1.0  # the machine is shared by 8 test runs: a scrape or a poll can be that late
RULES = """groups:
  - name: faults
    interval: 1s
    rules:
      - record: f_5xx_rate
        labels: {stack: blue}
        expr: sum(rate(f_http_total{code=~"5.."}[30s])) / sum(rate(f_http_total[30s]))
"""


def traffic(exp: Exporter) -> None:
    """Every scrape sees 100 more requests, none of them 5xx: the 5xx ratio is 0."""
    exp.inc("f_http_total", 100, code="200")
    exp.inc("f_http_total", 0, code="500")


def make_profile(url: str, target: str = 'up{job="exporter"}') -> Profile:
    kw = {"url": url, "interval": POLL, "timeout": 1.0, "scrape_interval": SCRAPE, "max_age": MAX_AGE}
    return build.profile(
        [build.source("prom", "prometheus", targets=(target,), **kw),
         build.source("bare", "prometheus", **kw)],  # no targets declared: sample age alone
        [build.signal("queues", "prom", query="sum by (queue) (f_queue)", label="queue"),
         build.signal("queues_bare", "bare", query="sum by (queue) (f_queue)", label="queue"),
         build.signal("http_5xx", "prom", query='max(f_5xx_rate{stack="blue"})'),
         build.signal("ratio", "prom", query="f_ratio"),
         build.signal("absent", "prom", query="sum(f_absent)")],
        [build.check("queues", "< 100"), build.check("queues_bare", "< 100"),
         build.check("http_5xx", "< 0.001"), build.check("ratio", "< 0.001"), build.check("absent", "< 1")],
        refresh=POLL,
    )


@dataclass
class Seen:
    ts: float
    states: dict[str, CheckState]

    def status(self, check: str) -> str:
        return self.states[check].status


class Watch:
    """The cockpit's engine polling a real Prometheus, keeping every observation."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.store = SeriesStore(profile)
        self.engine = CheckEngine(profile, time.time())
        self.poller = Poller(profile, self.store)
        self.seen: list[Seen] = []

    async def poll(self) -> Seen:
        await self.poller.sample_once()
        now = time.time()
        self.engine.evaluate(self.store, now, None)
        s = Seen(now, {st.check_id: st for st in self.engine.states()})
        self.seen.append(s)
        return s

    async def until(self, pred: Callable[[Seen], bool], what: str, timeout: float = 20.0) -> Seen:
        """Poll every POLL seconds until ``pred`` holds for an observation, or fail."""
        end = time.monotonic() + timeout
        while True:
            s = await self.poll()
            if pred(s):
                return s
            if time.monotonic() > end:
                last = {k: (v.status, v.reason) for k, v in s.states.items()}
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last}")
            await asyncio.sleep(POLL)

    async def watch(self, seconds: float) -> list[Seen]:
        """Poll for ``seconds`` (the interval in which nothing may turn ok)."""
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            out.append(await self.poll())
            await asyncio.sleep(POLL)
        return out

    def after(self, t: float) -> list[Seen]:
        return [s for s in self.seen if s.ts >= t]


def agree(w: Watch) -> None:
    """The TUI's panels and check rows and `status --json` say the same thing about the same store."""
    now = time.time()
    doc = as_json(w.profile, w.store, w.engine.states(), now)
    for sig in doc["signals"]:
        panel = panel_data(w.profile, w.profile.signal(sig["id"]), w.store.view(sig["id"], now), now)
        assert (panel.stale_since is None and not panel.waiting) == (sig["fresh"] or panel.no_data), sig
        assert panel.no_data == sig["no_data"] and panel.stale_reason == sig["error"], sig
    rows = {st.check_id: check_row(st).status for st in w.engine.states()}
    assert rows == {c["id"]: c["status"] for c in doc["checks"]}


def never_ok(seen: list[Seen], *checks: str) -> None:
    for s in seen:
        for c in checks:
            st = s.states[c]
            assert st.status != "ok", f"{c} ok while stale at {s.ts}: {st.reason} {dict(st.values)}"


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    with running_exporter() as exp:
        exp.before_scrape = traffic
        exp.set("f_queue", 5, queue="feed")
        exp.set("f_ratio", 0.0)
        yield exp


@pytest.fixture
def prom(exporter: Exporter, tmp_path: Path) -> Iterator[TestPrometheus]:
    with running_prometheus(tmp_path / "prom", [exporter.target], RULES) as p:
        p.wait_for('f_5xx_rate{stack="blue"} == 0')
        yield p


@pytest.fixture
async def watch(prom: TestPrometheus) -> AsyncIterator[Watch]:
    w = Watch(make_profile(prom.url))
    try:
        await w.until(lambda s: all(s.status(c) == "ok" for c in ("queues", "queues_bare", "http_5xx", "ratio")),
                      "every check ok on live data")
        yield w
    finally:
        await w.poller.stop()


async def wait_wall(seconds: float) -> None:
    """Let wall time pass (what is tested is the age of samples, which only time makes)."""
    end = time.time() + seconds
    while time.time() < end:
        await asyncio.sleep(0.05)


async def test_restart_with_the_target_away_reads_the_old_samples_as_stale(
    exporter: Exporter, prom: TestPrometheus, watch: Watch
) -> None:
    prom.stop()
    exporter.set("f_queue", 500, queue="feed")  # the queue fills while nobody watches...
    exporter.down()  # ...and the target is away when Prometheus comes back
    await wait_wall(MAX_AGE + 0.5)
    restarted = time.time()
    prom.start()
    # the defect reproduced: Prometheus answers the pre-restart sample, with its old timestamp
    old = prom.query("f_queue")
    assert old and old[0]["value"][1] == "5"
    assert float(prom.query("time() - timestamp(f_queue)")[0]["value"][1]) > MAX_AGE
    first = await watch.poll()
    # before its first scrape (Prometheus waits up to 5 s for target discovery) the old `up` is
    # itself too old; then the failed scrape writes up = 0
    assert f"target {exporter.target} not scraped for" in first.states["queues"].reason
    await watch.until(lambda s: f"target {exporter.target} down since" in s.states["queues"].reason,
                      "the failed scrape to name the target down")
    seen = watch.after(restarted)
    never_ok(seen, "queues", "queues_bare", "http_5xx")
    last = seen[-1].states
    assert "older than max_age 2.5s" in last["queues_bare"].reason  # age alone catches it
    assert last["queues"].evidence["health"]["targets"][0]["up"] == 0.0
    panel = panel_data(watch.profile, watch.profile.signal("queues_bare"), watch.store.view("queues_bare"),
                       time.time())
    assert panel.stale_since is not None and "older than max_age" in (panel.stale_reason or "")
    assert panel.age is not None and panel.age > MAX_AGE
    agree(watch)


async def test_restart_with_the_target_back_never_shows_the_old_value_as_ok(
    exporter: Exporter, prom: TestPrometheus, watch: Watch
) -> None:
    prom.stop()
    exporter.set("f_queue", 500, queue="feed")
    await wait_wall(MAX_AGE + 0.5)
    restarted = time.time()
    prom.start()
    s = await watch.until(lambda s: s.status("queues") == "failing" and s.status("queues_bare") == "failing",
                          "the new value (500) read fresh")
    assert s.states["queues"].values == {"feed": 500.0}
    never_ok(watch.after(restarted), "queues", "queues_bare")
    assert s.states["queues"].age is not None and s.states["queues"].age <= MAX_AGE


async def inject(exporter: Exporter, fault: str) -> None:
    if fault == "down":
        exporter.down()
    elif fault == "empty":  # a body Prometheus accepts as a scrape of 0 samples: up stays 1
        exporter.garbage = b"\x00{{{ not the text format\n}}}\n"
        exporter.set_mode("garbage")
    else:
        exporter.set_mode(fault)


async def repair(exporter: Exporter, fault: str) -> None:
    if fault == "down":
        exporter.up()
    else:
        exporter.set_mode("ok")


@pytest.mark.parametrize(("fault", "reason"), [
    ("down", "down since"), ("hang", "down since"), ("garbage", "down since"),
    ("empty", "up but its scrape held 0 samples"),
])
async def test_a_dead_scrape_takes_the_rule_based_check_out_of_ok_in_time(
    fault: str, reason: str, exporter: Exporter, prom: TestPrometheus, watch: Watch
) -> None:
    t0 = time.time()
    await inject(exporter, fault)
    s = await watch.until(lambda s: s.status("http_5xx") != "ok", "the 5xx check to leave ok", timeout=10)
    took = s.ts - t0
    bound = 2 * SCRAPE + POLL
    assert took <= bound + LOAD_SLACK, f"{fault}: still ok {took:.1f}s after the target died (bound {bound}s)"
    # the recording rule is still evaluating over the last 30 s of counters: without the
    # targets' health the check would read ok here
    assert prom.query('f_5xx_rate{stack="blue"}')
    st = s.states["http_5xx"]
    assert st.status == "unknown" and f"target {exporter.target} {reason}" in st.reason
    await watch.watch(3 * SCRAPE)
    never_ok(watch.after(s.ts), "http_5xx")
    # queues is another query, polled on its own: it may still hold a sample fetched before the
    # scrape that showed the fault; it too must be out of ok within the same bound from the fault
    never_ok(watch.after(t0 + bound + LOAD_SLACK), "queues")
    assert f"target {exporter.target} {reason}" in watch.seen[-1].states["queues"].reason
    agree(watch)
    await repair(exporter, fault)
    await watch.until(lambda s: s.status("http_5xx") == "ok" and s.status("queues") == "ok",
                      "ok again once the target is back")


@pytest.mark.parametrize(("value", "shown"), [(math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf")])
async def test_non_finite_values_never_pass_and_status_json_writes_null(
    value: float, shown: str, exporter: Exporter, watch: Watch
) -> None:
    changed = time.time()
    exporter.set("f_ratio", value)
    s = await watch.until(lambda s: s.states["ratio"].values and not math.isfinite(s.states["ratio"].values[""]),
                          f"{shown} read from Prometheus")
    st = s.states["ratio"]
    assert st.status == "failing" and st.reason.startswith(shown)
    assert "NaN and ±Inf never pass" in st.reason
    never_ok([x for x in watch.after(changed) if x.ts >= s.ts], "ratio")
    doc = as_json(watch.profile, watch.store, watch.engine.states(), time.time())
    text = json.dumps(doc, allow_nan=False)  # valid JSON: no NaN/Infinity tokens
    sig = next(x for x in json.loads(text)["signals"] if x["id"] == "ratio")
    assert sig["values"] == {"": None} and sig["nulls"][""].startswith(shown)
    check = next(x for x in doc["checks"] if x["id"] == "ratio")
    assert check["values"] == {"": None} and check["evidence"]["series"][0]["value"] is None


async def test_empty_vectors_are_no_data_never_ok(exporter: Exporter, watch: Watch) -> None:
    s = watch.seen[-1]
    assert s.status("absent") == "unknown" and s.states["absent"].reason == "no series returned by the query"
    view = watch.store.view("absent")
    assert view.no_data and panel_data(watch.profile, watch.profile.signal("absent"), view, time.time()).no_data
    removed = time.time()
    exporter.remove("f_queue", queue="feed")  # the series ends: Prometheus writes a staleness marker
    s = await watch.until(lambda s: s.status("queues") == "unknown", "the vanished series to read as missing")
    assert s.states["queues"].reason == "no series returned by the query"
    never_ok(watch.after(removed + 2 * SCRAPE + POLL + LOAD_SLACK), "queues", "queues_bare")
    panel = panel_data(watch.profile, watch.profile.signal("queues"), watch.store.view("queues"), time.time())
    assert panel.no_data and panel.latest() == {}  # not the last value beside a tick
    agree(watch)


async def test_a_frozen_prometheus_is_stale_never_ok_then_recovers(prom: TestPrometheus, watch: Watch) -> None:
    prom.freeze()
    try:
        frozen = time.time()
        s = await watch.until(lambda s: s.status("queues") == "unknown", "the frozen server to read stale")
        assert "no answer within 1s" in s.states["queues"].reason
        await watch.watch(2.0)
        never_ok(watch.after(frozen + 1.0 + 1.0 + POLL), "queues", "queues_bare", "http_5xx")
        # the poll in flight when it froze may still have answered ok: nothing after it did
        never_ok(watch.after(s.ts), "queues", "queues_bare", "http_5xx")
    finally:
        prom.thaw()
    await watch.until(lambda s: s.status("queues") == "ok", "ok again after SIGCONT")
