"""The envelope: selectors found in real queries, accepted by a real Prometheus, one round trip per signal."""

from __future__ import annotations

import pytest

from cockpit.sources import promql
from cockpit.sources.prometheus import PrometheusSampler
from tests.sources import build
from tests.support.exporter import Exporter
from tests.support.prometheus import TestPrometheus

ACADEMY_QUEUES = '''
sum by (queue) (
  label_replace(
    redis_key_size{key=~"laravel_database_queues:(feed|notifications|search-index)(:delayed|:reserved)?"},
    "queue", "$1", "key", "laravel_database_queues:([^:]+).*"
  )
)
'''

CASES = [
    ('sum by (code) (rate(x_total{code=~"5.."}[1m])) / ignoring(code) group_left sum(rate(x_total[1m]))',
     ['x_total{code=~"5.."}', "x_total"]),
    (ACADEMY_QUEUES, ['redis_key_size{key=~"laravel_database_queues:(feed|notifications|search-index)'
                      '(:delayed|:reserved)?"}']),
    ('max(http_5xx_rate{stack="blue"})', ['http_5xx_rate{stack="blue"}']),
    ("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))", ["h_bucket"]),
    ("sum without (instance) (a offset 5m) and on(job) b", ["a", "b"]),
    ('{__name__=~"job:.+"} > bool 3', ['{__name__=~"job:.+"}']),
    ("max(job:http_5xx:rate1m) # the rule {not a selector}", ["job:http_5xx:rate1m"]),
    ("sum(x) by (y)", ["x"]),
    ("topk(3, x) or vector(0)", ["x"]),
    ("max_over_time(x[5m:1m]) * 1e3", ["x"]),
    ("vector(time() - 1)", []),
    ('count(up{job="a"} == 1) < inf', ['up{job="a"}']),
]


@pytest.mark.parametrize(("query", "found"), CASES)
def test_selectors(query: str, found: list[str]) -> None:
    assert promql.selectors(query) == found


@pytest.mark.parametrize(("query", "found"), CASES)
def test_every_envelope_is_valid_promql(query: str, found: list[str], prom: TestPrometheus) -> None:
    prom.query(promql.envelope(query, ['up{job="exporter"}']))  # raises on a parse error


async def test_one_round_trip_per_signal_with_age_and_health(exporter: Exporter, prom: TestPrometheus) -> None:
    exporter.set("t9_depth", 4, queue="feed")
    exporter.set("t9_depth", 2, queue="search-index")
    prom.wait_for("count(t9_depth) == 2")
    spec = build.source("prom", "prometheus", url=prom.url, targets=('up{job="exporter"}',),
                        scrape_interval=1.0)
    s = PrometheusSampler(spec, step=1.0)
    try:
        sig = build.signal("q", "prom", query="sum by (queue) (t9_depth)")
        for _ in range(3):
            got = await s.sample(sig)
            assert got == {"feed": 4.0, "search-index": 2.0}
            assert got.age is not None and 0.0 <= got.age < 2.5 and got.problem is None
            assert got.targets[0]["target"] == exporter.target and got.targets[0]["up"] == 1.0
            assert got.targets[0]["samples"] and got.targets[0]["samples"] > 0
        assert s.queries == 3  # one round trip per sample, age and health included
        # a scalar cannot be tagged: the query alone, then age and health beside it (2 round trips)
        scalar = build.signal("s", "prom", query='scalar(t9_depth{queue="feed"}) * 2')
        got = await s.sample(scalar)
        assert got == {"": 8.0} and got.age is not None and got.targets
        assert s.queries == 3 + 3  # first time: envelope refused, query, age+health
        await s.sample(scalar)
        assert s.queries == 3 + 3 + 2  # remembered: no more refused envelopes
    finally:
        await s.close()
