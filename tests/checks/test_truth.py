"""Never green on stale data: sample age, source health, non-finite values, `within` edges, evidence.

The engine on a real SeriesStore; the Prometheus side of the same rules runs against a
real Prometheus in test_faults.py.
"""

from __future__ import annotations

import json
import math

import pytest

from cockpit.checks import CheckEngine
from cockpit.conditions import parse_condition
from cockpit.freshness import Sample
from cockpit.series import SeriesStore
from tests.sources import build

T0 = 1_800_000_000.0
REFRESH = 1.0


def setup(*checks, max_age: float = 7.0, targets: tuple[str, ...] = ()):
    p = build.profile(
        [build.source("p", "prometheus", url="http://127.0.0.1:1", interval=1.0, timeout=1.0,
                      max_age=max_age, targets=targets)],
        [build.signal("sig", "p", query='max(http_5xx_rate{stack="blue"})')],
        checks,
        refresh=REFRESH,
    )
    return SeriesStore(p, now=T0), CheckEngine(p, now=T0)


def state(engine: CheckEngine):
    return engine.states()[0]


@pytest.mark.parametrize(
    ("condition", "value"),
    [("< 0.001", -math.inf), ("<= 0", -math.inf), ("> 0", math.inf), (">= 1", math.inf),
     ("!= 0", math.nan), ("!= 0", math.inf), ("== 200", math.nan)],
)
def test_non_finite_values_never_hold(condition: str, value: float):
    assert not parse_condition(condition).holds(value)
    store, engine = setup(build.check("sig", condition))
    store.record("sig", {"": value}, T0 + 1)
    engine.evaluate(store, T0 + 1, None)
    s = state(engine)
    assert s.status == "failing" and "NaN and ±Inf never pass" in s.reason
    ev = s.evidence["series"][0]
    assert ev["value"] is None and ev["note"]
    json.dumps(s.evidence, allow_nan=False)  # the journal can always write it


def test_old_samples_are_stale_never_ok_and_say_how_old():
    store, engine = setup(build.check("sig", "< 0.001"), max_age=7.0)
    # Prometheus answers now, but the newest raw sample under the query is 42 s old (a restart)
    store.record("sig", Sample({"": 0.0}, query="q", age=42.0, ages={"http_5xx_rate": 42.0}), T0 + 10)
    engine.evaluate(store, T0 + 10, None)
    s = state(engine)
    assert s.status == "unknown" and "older than max_age 7s" in s.reason
    assert s.age == pytest.approx(42.0)
    view = store.view("sig", T0 + 10)
    assert view.stale and view.sample_ts == pytest.approx(T0 - 32)
    # fresh again
    store.record("sig", Sample({"": 0.0}, query="q", age=0.5), T0 + 11)
    engine.evaluate(store, T0 + 11, None)
    assert state(engine).status == "ok" and state(engine).age == pytest.approx(0.5)
    # the age shown grows at every evaluation, not only when a sample arrives
    engine.evaluate(store, T0 + 13, None)
    assert state(engine).status == "ok" and state(engine).age == pytest.approx(2.5)


def test_health_problem_makes_fresh_values_stale_with_the_reason():
    store, engine = setup(build.check("sig", "< 0.001"), targets=('up{job="academy"}',))
    problem = "target 127.0.0.1:9392 down since 12:03:04"
    store.record("sig", Sample({"": 0.0}, age=0.2, problem=problem,
                               targets=[{"target": "127.0.0.1:9392", "up": 0.0, "age": 0.3}]), T0 + 1)
    engine.evaluate(store, T0 + 1, None)
    s = state(engine)
    assert s.status == "unknown" and s.reason.endswith(problem)
    assert s.evidence["health"]["problem"] == problem and s.evidence["stale"] == problem
    store.record("sig", Sample({"": 0.0}, age=0.2), T0 + 2)
    engine.evaluate(store, T0 + 2, None)
    assert state(engine).status == "ok"


def test_evidence_has_query_values_sample_times_ages_and_health():
    store, engine = setup(build.check("sig", "< 0.001"))
    store.record("sig", Sample({"": 0.0002}, query="max(x)", age=1.5, ages={"x": 1.5},
                               targets=[{"target": "t:1", "up": 1.0, "age": 0.4}]), T0 + 5)
    engine.evaluate(store, T0 + 6, None)
    ev = state(engine).evidence
    assert ev["query"] == "max(x)" and ev["source"] == "p" and ev["at"] == T0 + 6
    assert ev["series"] == [{"label": "", "value": 0.0002, "ts": T0 + 3.5, "age": 2.5}]
    assert ev["selectors"] == {"x": 1.5} and ev["health"]["targets"][0]["target"] == "t:1"
    assert ev["stale"] is None and ev["max_age"] == 7.0


# -- `within`: ok AT the deadline, on live data, sustained for `consecutive` samples -------------

WITHIN = 300.0


def run(samples: list[tuple[float, float | None]], evaluations: list[float], consecutive: int = 1):
    """Record samples (None: a failed poll) and evaluate at the given offsets from T0 (rollback start)."""
    store, engine = setup(build.check("sig", "< 0.001", within=WITHIN, consecutive=consecutive))
    events = sorted([(t, "s", v) for t, v in samples] + [(t, "e", None) for t in evaluations],
                    key=lambda x: (x[0], x[1] == "e"))
    for t, kind, v in events:
        if kind == "s":
            if v is None:
                store.fail("sig", T0 + t, "timeout after 1s")
            else:
                store.record("sig", Sample({"": v}, age=0.1), T0 + t)
        else:
            engine.evaluate(store, T0 + t, T0)
    return state(engine)


def test_ok_once_then_unknown_at_the_deadline_is_missed():
    s = run([(100, 0.0), (290, None)], [100, 290, 301])
    assert s.status == "missed" and "now unknown" in s.reason and not s.deadline_met


def test_ok_once_then_silently_stale_by_the_deadline_is_missed():
    # the last evaluation before the deadline (at 290) saw ok; the data went stale at 297
    # (7 s max_age) and the first evaluation after the deadline sees it: broken before the deadline
    s = run([(290, 0.0)], [290, 310])
    assert s.status == "missed"


def test_ok_at_the_deadline_is_met_and_later_trouble_is_live_status():
    s = run([(250, 0.05), (296, 0.0), (302, 0.5)], [250, 296, 302])
    assert s.status == "failing" and s.deadline_met
    s = run([(299, 0.0), (300, 0.0), (306, 0.0)], [299, 300, 306])
    assert s.status == "ok" and s.deadline_met  # ok exactly at the deadline counts


def test_ok_then_failing_then_ok_again_before_the_deadline_is_met():
    s = run([(50, 0.0), (100, 0.2), (298, 0.0)], [50, 100, 298, 301])
    assert s.status == "ok" and s.deadline_met


def test_failing_at_the_deadline_is_missed_and_stays_missed():
    s = run([(50, 0.0), (299, 0.2), (320, 0.0)], [50, 299, 320])
    assert s.status == "missed" and "now ok" in s.reason


def test_not_yet_consecutive_at_the_deadline_is_missed():
    s = run([(298, 0.0), (302, 0.0)], [298, 302], consecutive=2)
    assert s.status == "missed"
    s = run([(297, 0.0), (298, 0.0), (302, 0.0)], [297, 298, 302], consecutive=2)
    assert s.status == "ok" and s.deadline_met


def test_never_evaluated_before_the_deadline_is_missed():
    s = run([(301, 0.0)], [301])
    assert s.status == "missed"
