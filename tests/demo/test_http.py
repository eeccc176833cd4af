"""The simulated Prometheus and /healthz: exact API shapes, errors, and garbage that never crashes."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import pytest
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from cockpit.demo.prom import format_value
from cockpit.demo.stack import DemoStack


def prom_url(stack: DemoStack) -> str:
    url = stack.profile.sources["prom"].url
    assert url is not None
    return url


async def test_prometheus_api_client_reads_every_demo_query(stack: DemoStack) -> None:
    pc = PrometheusConnect(url=prom_url(stack), disable_ssl=True)
    queues = await asyncio.to_thread(pc.custom_query, stack.profile.signal("queues").query)
    assert sorted(r["metric"]["queue"] for r in queues) == ["feed", "notifications", "search-index"]
    for r in queues:
        ts, value = r["value"]
        assert isinstance(ts, float) and abs(ts - time.time()) < 5
        assert isinstance(value, str) and float(value) >= 100
    for signal in ("http_5xx", "ingestion_lag"):
        result = await asyncio.to_thread(pc.custom_query, stack.profile.signal(signal).query)
        assert len(result) == 1 and result[0]["metric"] == {}
    # the backfill: history before the stack started is synthesised, not compressed: the release
    # went out 7 minutes before the start
    end = dt.datetime.now()
    rng = await asyncio.to_thread(
        pc.custom_query_range,
        stack.profile.signal("http_5xx").query,
        end - dt.timedelta(minutes=10),
        end,
        "15s",
    )
    assert len(rng) == 1 and rng[0]["metric"] == {}
    values = rng[0]["values"]
    assert len(values) >= 40 and all(isinstance(t, float) and isinstance(v, str) for t, v in values)
    assert float(values[0][1]) < 0.001 < float(values[-1][1]), "calm before the release, errors at the end"
    with pytest.raises(PrometheusApiClientException):
        await asyncio.to_thread(pc.custom_query, "up")


async def test_exact_json_shapes_and_errors(stack: DemoStack) -> None:
    url = prom_url(stack)
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        r = await client.get("/api/v1/query", params={"query": 'max(http_5xx_rate{stack="blue"})'})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert body.keys() == {"status", "data"} and body["status"] == "success"
        assert body["data"]["resultType"] == "vector"
        [sample] = body["data"]["result"]
        assert sample.keys() == {"metric", "value"} and len(sample["value"]) == 2
        # a POSTed form, as Prometheus also accepts, at an explicit time
        at = time.time() - 30
        r = await client.post(
            "/api/v1/query", data={"query": "max(analytics_ingestion_lag_seconds)", "time": str(at)}
        )
        assert r.status_code == 200 and r.json()["data"]["result"][0]["value"][0] == round(at, 3)
        r = await client.get("/api/v1/query", params={"query": "redis_key_size"})
        keys = {s["metric"]["key"] for s in r.json()["data"]["result"]}
        assert "laravel_database_queues:feed:reserved" in keys
        r = await client.get(
            "/api/v1/query_range",
            params={
                "query": "max(analytics_ingestion_lag_seconds)",
                "start": "2026-01-01T00:00:00Z",
                "end": "2026-01-01T00:01:00Z",
                "step": "30s",
            },
        )
        matrix = r.json()["data"]
        assert matrix["resultType"] == "matrix" and [len(s["values"]) for s in matrix["result"]] == [3]
        assert matrix["result"][0]["values"][0][0] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
        bad = [
            ("/api/v1/query", {"query": "up"}, "demo Prometheus only answers"),
            ("/api/v1/query", {}, "no expression found"),
            ("/api/v1/query", {"query": "max(http_5xx_rate"}, "unclosed left parenthesis"),
            (
                "/api/v1/query",
                {"query": "max(http_5xx_rate)", "time": "yesterday"},
                'cannot parse "yesterday"',
            ),
            ("/api/v1/query", {"query": "max(http_5xx_rate)", "time": "NaN"}, 'cannot parse "NaN"'),
            ("/api/v1/query", {"query": "max(http_5xx_rate)", "time": "1e300"}, 'cannot parse "1e300"'),
            (
                "/api/v1/query_range",
                {"query": "max(http_5xx_rate)", "start": "10", "end": "5", "step": "1"},
                "end timestamp must not be before start time",
            ),
            (
                "/api/v1/query_range",
                {"query": "max(http_5xx_rate)", "start": "0", "end": "5", "step": "0"},
                "zero or negative query resolution",
            ),
            (
                "/api/v1/query_range",
                {"query": "max(http_5xx_rate)", "start": "0", "end": "1e9", "step": "1"},
                "exceeded maximum resolution of 11,000 points",
            ),
            (
                "/api/v1/query_range",
                {"query": "max(http_5xx_rate)", "start": "0", "end": "5", "step": "1x"},
                'invalid parameter "step"',
            ),
        ]
        for path, params, message in bad:
            r = await client.get(path, params=params)
            assert r.status_code == 400, (path, params)
            err = r.json()
            assert err.keys() == {"status", "errorType", "error"}
            assert err["status"] == "error" and err["errorType"] == "bad_data" and message in err["error"]
        assert (await client.get("/nope")).status_code == 404
        assert (await client.delete("/api/v1/query")).status_code == 405
        assert (await client.get("/-/healthy")).text == "Prometheus Server is Healthy.\n"


def test_values_are_written_like_prometheus() -> None:
    assert [format_value(v) for v in (2400.0, 0.0213, 1e-05, 0.0, float("nan"), float("inf"), 1.5e20)] == [
        "2400",
        "0.0213",
        "0.00001",
        "0",
        "NaN",
        "+Inf",
        "150000000000000000000",
    ]


async def test_healthz_fails_steadily_during_the_incident(stack: DemoStack) -> None:
    """A degraded stack fails its health check in runs, not as a coin flip (see test_sim)."""
    url = stack.profile.sources["blue"].url
    assert url is not None
    async with httpx.AsyncClient(timeout=5) as client:
        answers = [await client.get(url) for _ in range(20)]
        assert sum(r.status_code == 500 for r in answers) >= 15, [r.status_code for r in answers]
        failing = next(r for r in answers if r.status_code == 500)
        assert failing.json()["status"] == "fail" and failing.json()["stack"] == "blue"
        assert (await client.get(url.replace("/healthz", "/"))).status_code == 404


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(40)) + b"\r\n\r\n",  # a TLS hello
        b"GET\r\n\r\n",
        b"GET /api/v1/query HTTP/9.9\r\n\r\n",
        b"GET http://x/ HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST /api/v1/query HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
        b"POST /api/v1/query HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
async def test_garbage_gets_400_and_the_server_lives_on(stack: DemoStack, garbage: bytes) -> None:
    for server in (stack.prometheus, stack.blue):
        assert server is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(garbage)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:80]
        # half a request, then the client vanishes
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        writer.close()
    async with httpx.AsyncClient(timeout=5) as client:
        r = await client.get(f"{prom_url(stack)}/api/v1/query", params={"query": "max(http_5xx_rate)"})
        assert r.status_code == 200


async def test_keep_alive_serves_several_requests(stack: DemoStack) -> None:
    assert stack.prometheus is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.prometheus.port)
    request = b"GET /-/ready HTTP/1.1\r\nHost: demo\r\n\r\n"
    writer.write(request * 3)
    await writer.drain()
    seen = b""
    while seen.count(b"Prometheus Server is Ready.") < 3:
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        assert chunk, "connection closed early"
        seen += chunk
    writer.close()
    assert seen.count(b"HTTP/1.1 200 OK") == 3
