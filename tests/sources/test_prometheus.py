"""The prometheus source against a real Prometheus (and stubs playing a broken one)."""

from __future__ import annotations

import json
import math
import time

import pytest

from cockpit.series import SeriesStore
from cockpit.sources.base import SourceError
from cockpit.sources.prometheus import PrometheusSampler
from tests.sources import build
from tests.support.exporter import Exporter
from tests.support.httpstub import HttpStub
from tests.support.prometheus import TestPrometheus


def sampler(url: str, **kw: object) -> PrometheusSampler:
    return PrometheusSampler(build.source("prom", "prometheus", url=url, **kw), step=1.0)


async def test_instant_query_names_series_by_the_varying_label(exporter: Exporter, prom: TestPrometheus):
    for q, v in {"feed": 312, "notifications": 4, "search-index": 0}.items():
        exporter.set("t1_queue_depth", v, queue=q)
    prom.wait_for('count(t1_queue_depth) == 3')
    s = sampler(prom.url)
    try:
        sig = build.signal("queues", "prom", query='sum by (queue) (t1_queue_depth)')
        assert await s.sample(sig) == {"feed": 312.0, "notifications": 4.0, "search-index": 0.0}
        # without aggregation every series has job/instance too: `queue` is the only one that varies
        raw = build.signal("raw", "prom", query="t1_queue_depth")
        assert set(await s.sample(raw)) == {"feed", "notifications", "search-index"}
        # an explicit label that all series share is refused: they could not be told apart
        same = build.signal("same", "prom", query="t1_queue_depth", label="job")
        with pytest.raises(SourceError, match="two series named 'exporter' by label 'job'"):
            await s.sample(same)
    finally:
        await s.close()


async def test_scalar_single_series_nan_and_inf(exporter: Exporter, prom: TestPrometheus):
    exporter.set("t2_single", 7.5)
    exporter.set("t2_nan", math.nan)
    prom.wait_for("t2_single")
    s = sampler(prom.url)
    try:
        assert await s.sample(build.signal("a", "prom", query="t2_single")) == {"": 7.5}
        assert await s.sample(build.signal("b", "prom", query="scalar(t2_single) * 2")) == {"": 15.0}
        assert math.isnan((await s.sample(build.signal("c", "prom", query="t2_nan")))[""])
        assert (await s.sample(build.signal("d", "prom", query="1/0")))[""] == math.inf
    finally:
        await s.close()


async def test_rate_over_a_counter(exporter: Exporter, prom: TestPrometheus):
    s = sampler(prom.url)
    sig = build.signal("r", "prom", query="sum(rate(t3_requests_total[3s]))")
    try:
        exporter.inc("t3_requests_total", 0, code="500")
        deadline = time.monotonic() + 15
        value = 0.0
        while time.monotonic() < deadline:  # the counter grows by 100 per scrape-ish second
            exporter.inc("t3_requests_total", 10, code="500")
            got = await s.sample(sig)
            value = got.get("", 0.0)
            if value > 5:
                break
            time.sleep(0.1)  # pacing the counter's growth (the data), not synchronisation
        assert value > 5
    finally:
        await s.close()


async def test_empty_result_is_an_empty_sample(prom: TestPrometheus):
    s = sampler(prom.url)
    try:
        assert await s.sample(build.signal("e", "prom", query='no_such_metric{x="y"}')) == {}
    finally:
        await s.close()


async def test_bad_promql_shows_prometheus_error(prom: TestPrometheus):
    s = sampler(prom.url)
    try:
        with pytest.raises(SourceError) as e:
            await s.sample(build.signal("bad", "prom", query="sum(rate(x[5m]"))
        assert str(e.value).startswith("bad_data: ")
        assert "parse error" in str(e.value)
    finally:
        await s.close()


async def test_backfill_returns_history(exporter: Exporter, prom: TestPrometheus):
    exporter.set("t4_depth", 3, queue="feed")
    prom.wait_for("count_over_time(t4_depth[10s]) >= 3")  # old enough to have a history
    s = PrometheusSampler(build.source("prom", "prometheus", url=prom.url, backfill=60.0), step=1.0)
    sig = build.signal("q", "prom", query="sum by (queue) (t4_depth)")
    try:
        points = await s.backfill(sig, time.time())
        assert list(points) == ["feed"]
        assert points["feed"] and all(v == 3.0 for _, v in points["feed"])
        store = SeriesStore(build.profile([s.spec], [sig]))
        store.backfill("q", points)
        view = store.view("q")
        assert view.latest() == {"feed": 3.0} and view.last_ok is None  # panels filled, checks not
    finally:
        await s.close()


async def test_dead_server_fails_fast(closed_port: int):
    s = sampler(f"http://127.0.0.1:{closed_port}", timeout=3.0)
    try:
        t = time.monotonic()
        with pytest.raises(SourceError, match=r"^connection refused$"):
            await s.sample(build.signal("x", "prom", query="up"))
        assert time.monotonic() - t < 1.0  # no retries behind our back
    finally:
        await s.close()


async def test_hanging_server_times_out(stub: HttpStub):
    stub.set(hang=True)
    s = sampler(stub.url(), timeout=0.5)
    try:
        t = time.monotonic()
        with pytest.raises(SourceError, match=r"^no answer within 0\.5s$"):
            await s.sample(build.signal("x", "prom", query="up"))
        assert time.monotonic() - t < 2.0
    finally:
        await s.close()


async def test_503_is_not_retried_and_garbage_is_reported(stub: HttpStub):
    stub.set(status=503, body=b"Service Unavailable", content_type="text/plain")
    s = sampler(stub.url(), timeout=2.0)
    try:
        with pytest.raises(SourceError, match=r"^HTTP 503$"):
            await s.sample(build.signal("x", "prom", query="up"))
        assert stub.count("/api/v1/query") == 1
        stub.set(status=200, body=b"<html>login</html>", content_type="text/html")
        with pytest.raises(SourceError, match="not JSON"):
            await s.sample(build.signal("x", "prom", query="up"))
        stub.set(status=200, body=b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}')
        with pytest.raises(SourceError, match="unexpected answer"):
            await s.sample(build.signal("x", "prom", query="up"))
        stub.set(status=200, body=b'{"status":"success","data":{"resultType":"string","result":[1,"abc"]}}')
        with pytest.raises(SourceError, match="not a number"):
            await s.sample(build.signal("x", "prom", query='"abc"'))
        stub.set(status=200, body=b'[1, 2, 3]')
        with pytest.raises(SourceError, match="unexpected answer"):
            await s.sample(build.signal("x", "prom", query="up"))
        stub.set(drop=True)
        with pytest.raises(SourceError, match="connection dropped"):
            await s.sample(build.signal("x", "prom", query="up"))
    finally:
        await s.close()


async def test_bearer_token_sent_but_never_shown(stub: HttpStub, monkeypatch: pytest.MonkeyPatch):
    token = "s3cr3t-token-value-42"
    monkeypatch.setenv("T_PROM_TOKEN", token)
    ok = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]}}
    stub.set(body=json.dumps(ok).encode())
    s = sampler(stub.url(), headers={"Authorization": "Bearer ${env:T_PROM_TOKEN}"})
    try:
        assert await s.sample(build.signal("x", "prom", query="up")) == {"": 1.0}
        assert stub.requests[-1][1]["Authorization"] == f"Bearer {token}"
        # an error echoing the token back never carries it into the reason
        err = {"status": "error", "errorType": "bad_data", "error": f"denied for Bearer {token}"}
        stub.set(status=400, body=json.dumps(err).encode())
        with pytest.raises(SourceError) as e:
            await s.sample(build.signal("x", "prom", query="up"))
        assert token not in str(e.value) and "[redacted]" in str(e.value)
        monkeypatch.delenv("T_PROM_TOKEN")
        with pytest.raises(SourceError, match="T_PROM_TOKEN is not set"):
            await s.sample(build.signal("x", "prom", query="up"))
    finally:
        await s.close()


async def test_recording_rule_result(prom: TestPrometheus):
    prom.wait_for("cockpit_test_up_doubled")
    s = sampler(prom.url)
    try:
        assert await s.sample(build.signal("r", "prom", query="max(cockpit_test_up_doubled)")) == {"": 2.0}
    finally:
        await s.close()
