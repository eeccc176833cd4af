"""prometheus-api-client (as cockpit configures it) vs raw httpx against a real Prometheus.

    .venv/bin/python -m tests.bench.prom_client

Prints: instant-query latency (median/p95 over N queries) both ways, time to report a 503
with the library's default Retry vs ``Retry(total=0)``, and time to report a dead port.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_api_client.prometheus_connect import PrometheusConnect

from cockpit.sources.base import SourceError
from cockpit.sources.prometheus import PrometheusSampler
from tests.sources import build
from tests.support.exporter import running_exporter
from tests.support.httpstub import running_stub
from tests.support.prometheus import running_prometheus
from tests.support.sshd import free_port

N = 300
QUERY = "sum by (queue) (bench_depth)"


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]


async def lib_latencies(url: str) -> list[float]:
    s = PrometheusSampler(build.source("p", "prometheus", url=url), step=1.0)
    sig = build.signal("q", "p", query=QUERY)
    out = []
    try:
        for _ in range(N):
            t = time.perf_counter()
            await s.sample(sig)
            out.append(time.perf_counter() - t)
    finally:
        await s.close()
    return out


async def httpx_latencies(url: str) -> list[float]:
    out = []
    async with httpx.AsyncClient(timeout=3.0) as c:
        for _ in range(N):
            t = time.perf_counter()
            r = await c.get(f"{url}/api/v1/query", params={"query": QUERY})
            r.json()["data"]["result"]
            out.append(time.perf_counter() - t)
    return out


async def main() -> None:
    with running_exporter() as exp:
        for q in ("feed", "notifications", "search-index"):
            exp.set("bench_depth", 1, queue=q)
        with running_prometheus(Path(tempfile.mkdtemp()), [f"127.0.0.1:{exp.port}"]) as prom:
            prom.wait_for("count(bench_depth) == 3")
            for name, fn in (("prometheus-api-client (thread)", lib_latencies), ("httpx.AsyncClient", httpx_latencies)):
                xs = await fn(prom.url)
                print(f"{name:32s} median {statistics.median(xs) * 1000:.2f} ms  p95 {pct(xs, 0.95) * 1000:.2f} ms")

    with running_stub() as stub:
        stub.set(status=503, body=b"unavailable", content_type="text/plain")
        t = time.perf_counter()
        try:
            PrometheusConnect(url=stub.url().rstrip("/")).custom_query("up")
        except Exception as e:
            print(f"503, library defaults:            {time.perf_counter() - t:.2f} s, {stub.count()} requests ({type(e).__name__})")
        n = stub.count()
        s = PrometheusSampler(build.source("p", "prometheus", url=stub.url()), step=1.0)
        t = time.perf_counter()
        try:
            await s.sample(build.signal("q", "p", query="up"))
        except SourceError as e:
            print(f"503, cockpit (Retry(total=0)):    {time.perf_counter() - t:.3f} s, {stub.count() - n} request  ({e})")
        await s.close()

    dead = f"http://127.0.0.1:{free_port()}"
    t = time.perf_counter()
    try:
        PrometheusConnect(url=dead).custom_query("up")
    except Exception as e:
        print(f"dead port, library defaults:      {time.perf_counter() - t:.2f} s ({type(e).__name__})")
    s = PrometheusSampler(build.source("p", "prometheus", url=dead), step=1.0)
    t = time.perf_counter()
    try:
        await s.sample(build.signal("q", "p", query="up"))
    except SourceError as e:
        print(f"dead port, cockpit:               {time.perf_counter() - t:.3f} s ({e})")
    await s.close()


if __name__ == "__main__":
    asyncio.run(main())
