"""CheckEngine on a real SeriesStore: conditions, consecutive, deadlines, stale and missing data."""

from __future__ import annotations

import math

import pytest

from cockpit.checks import CheckEngine
from cockpit.series import SeriesStore
from tests.sources import build

T0 = 1_800_000_000.0


def setup(*checks, interval: float = 5.0, timeout: float = 3.0):
    p = build.profile(
        [build.source("s", "http", url="http://127.0.0.1:1/", interval=interval, timeout=timeout)],
        [build.signal("sig", "s")],
        checks,
    )
    return SeriesStore(p, now=T0), CheckEngine(p, now=T0)


def state(engine: CheckEngine, check_id: str = "sig"):
    return next(s for s in engine.states() if s.check_id == check_id)


@pytest.mark.parametrize(
    ("condition", "passing", "breaking"),
    [
        ("< 100", 99.0, 100.0),
        ("<= 0.001", 0.001, 0.0011),
        ("> 0", 0.5, 0.0),
        (">= 1", 1.0, 0.99),
        ("== 200", 200.0, 500.0),
        ("!= 0", 3.0, 0.0),
    ],
)
def test_each_condition_form(condition: str, passing: float, breaking: float):
    store, engine = setup(build.check("sig", condition))
    store.record("sig", {"": passing}, T0 + 1)
    engine.evaluate(store, T0 + 1, None)
    assert state(engine).status == "ok"
    store.record("sig", {"": breaking}, T0 + 2)
    engine.evaluate(store, T0 + 2, None)
    assert state(engine).status == "failing"
    assert f"(needs {condition})" in state(engine).reason


def test_every_series_must_hold_and_nan_never_does():
    store, engine = setup(build.check("sig", "< 100"))
    store.record("sig", {"feed": 312.0, "notifications": 4.0, "search-index": 0.0}, T0 + 1)
    engine.evaluate(store, T0 + 1, None)
    s = state(engine)
    assert (s.status, s.reason) == ("failing", "feed=312 (needs < 100)")
    assert s.values == {"feed": 312.0, "notifications": 4.0, "search-index": 0.0}
    store.record("sig", {"feed": math.nan, "notifications": 4.0}, T0 + 2)
    engine.evaluate(store, T0 + 2, None)
    assert state(engine).reason == "feed=NaN (needs < 100; NaN and ±Inf never pass)"


def test_consecutive_counts_each_sample_once():
    store, engine = setup(build.check("sig", "== 200", consecutive=2))
    store.record("sig", {"": 200.0}, T0 + 1)
    for t in (1, 2, 3):  # the same sample evaluated three times is still one pass
        engine.evaluate(store, T0 + t, None)
    s = state(engine)
    assert (s.status, s.passes, s.needed) == ("pending", 1, 2)
    assert s.reason.endswith("1/2 consecutive")
    store.record("sig", {"": 500.0}, T0 + 4)
    engine.evaluate(store, T0 + 4, None)
    assert (state(engine).status, state(engine).passes) == ("failing", 0)  # a failure resets
    store.record("sig", {"": 200.0}, T0 + 5)
    engine.evaluate(store, T0 + 5, None)
    store.record("sig", {"": 200.0}, T0 + 6)
    changes = engine.evaluate(store, T0 + 6, None)
    s = state(engine)
    assert (s.status, s.reason, s.since) == ("ok", "200 (== 200), 2/2 consecutive", T0 + 6)
    assert [(new.status, old.status if old else None) for new, old in changes] == [("ok", "pending")]
    assert [st for _, st in engine.history("sig")] == ["failing", "pending", "ok"]


def test_stale_and_missing_data_are_never_ok():
    store, engine = setup(build.check("sig", "< 100"), interval=1.0, timeout=0.5)
    engine.evaluate(store, T0, None)
    assert state(engine).status == "pending" and state(engine).reason == "no sample yet"
    store.record("sig", {}, T0 + 1)
    engine.evaluate(store, T0 + 1, None)
    assert (state(engine).status, state(engine).reason) == ("unknown", "no series returned by the query")
    store.record("sig", {"feed": 1.0}, T0 + 2)
    engine.evaluate(store, T0 + 2, None)
    assert state(engine).status == "ok"
    store.fail("sig", T0 + 3, "timeout after 0.5s")
    engine.evaluate(store, T0 + 3, None)
    s = state(engine)
    assert s.status == "unknown" and s.reason.startswith("stale since ") and s.reason.endswith(
        ": timeout after 0.5s"
    )
    store.record("sig", {"feed": 1.0}, T0 + 4)
    engine.evaluate(store, T0 + 4, None)
    assert state(engine).status == "ok"
    engine.evaluate(store, T0 + 4 + 2.6, None)  # no answer for 2 intervals + timeout: overdue
    s = state(engine)
    assert s.status == "unknown" and "no answer since" in s.reason


def test_deadline_missed_stays_missed_with_the_live_state():
    store, engine = setup(build.check("sig", "< 0.001", within=300.0))
    started = T0
    store.record("sig", {"": 0.05}, T0 + 10)
    engine.evaluate(store, T0 + 10, started)
    s = state(engine)
    assert s.status == "failing" and s.deadline == T0 + 300 and "due by" in s.reason
    store.record("sig", {"": 0.05}, T0 + 301)
    engine.evaluate(store, T0 + 301, started)
    s = state(engine)
    assert s.status == "missed" and s.reason.startswith("deadline missed at ")
    assert "now failing: 0.05 (needs < 0.001)" in s.reason
    store.record("sig", {"": 0.0001}, T0 + 320)
    engine.evaluate(store, T0 + 320, started)
    s = state(engine)
    assert s.status == "missed" and "now ok: 0.0001 (< 0.001)" in s.reason


def test_deadline_met_then_live_again_and_no_rollback_no_deadline():
    store, engine = setup(build.check("sig", "< 0.001", within=300.0))
    store.record("sig", {"": 0.0}, T0 + 10)
    engine.evaluate(store, T0 + 10, None)
    assert state(engine).deadline is None and state(engine).status == "ok"  # not running
    engine.evaluate(store, T0 + 20, T0)
    assert state(engine).status == "ok" and not state(engine).deadline_met  # no verdict before the deadline
    store.record("sig", {"": 0.0}, T0 + 299)
    engine.evaluate(store, T0 + 299, T0)
    store.record("sig", {"": 0.5}, T0 + 400)
    engine.evaluate(store, T0 + 400, T0)
    s = state(engine)
    assert s.status == "failing" and s.deadline_met  # ok at the deadline: later trouble is plain failing
    store.record("sig", {"": 0.5}, T0 + 9_001)
    engine.evaluate(store, T0 + 9_001, T0 + 9_000)  # a new rollback: the deadline starts over
    assert state(engine).status == "failing" and state(engine).deadline == T0 + 9_300


def test_check_on_unknown_signal_is_unknown():
    p = build.profile([], [], [build.check("ghost", "< 1")])
    engine = CheckEngine(p)
    engine.evaluate(SeriesStore(p), T0, None)
    assert state(engine, "ghost").status == "unknown"
