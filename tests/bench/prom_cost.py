"""Query cost per refresh of the academy profile's Prometheus signals: before and after freshness.

    .venv/bin/python -m tests.bench.prom_cost [--refreshes N]

Starts a real Prometheus (scraping every second) and an exporter publishing the academy
profile's series (redis_exporter-style ``redis_key_size`` for the nine queue keys, the blue
stack's request counters under the ``http_5xx_rate`` recording rule, the ingestion lag), points
``profiles/academy.toml``'s Prometheus sources at it (targets ``up{job="exporter"}``, the only
job here) and times N refreshes, each sampling every Prometheus signal as the poller does
(concurrently):

- before: the query alone (``custom_query(signal.query)``, the first version);
- after: ``PrometheusSampler.sample`` (the envelope: query + sample ages + target health).

Prints round trips per refresh, ms per refresh (median / p95) and the bytes of each answer.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from cockpit.profile.load import load_profile
from cockpit.sources import promql
from cockpit.sources.prometheus import PrometheusSampler, series_values
from tests.conftest import REPO
from tests.support.exporter import Exporter, running_exporter
from tests.support.prometheus import running_prometheus

RULES = """groups:
  - name: academy
    interval: 1s
    rules:
      - record: http_5xx_rate
        labels: {stack: blue}
        expr: sum(rate(academy_http_requests_total{status=~"5.."}[1m])) / sum(rate(academy_http_requests_total[1m]))
"""


def traffic(exp: Exporter) -> None:
    exp.inc("academy_http_requests_total", 200, status="200")
    exp.inc("academy_http_requests_total", 1, status="500")


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]


async def run(url: str, refreshes: int) -> None:
    profile = load_profile(REPO / "profiles" / "academy.toml", environ={"PROM_TOKEN": "bench"})
    sources = {
        sid: dataclasses.replace(s, url=url, headers={}, targets=('up{job="exporter"}',) if s.targets else ())
        for sid, s in profile.sources.items() if s.kind == "prometheus"
    }
    signals = [s for s in profile.signals if s.source in sources]
    samplers = {sid: PrometheusSampler(spec, step=5.0) for sid, spec in sources.items()}
    try:
        async def before() -> int:
            async def one(sig) -> int:  # type: ignore[no-untyped-def]
                result = await samplers[sig.source]._query(sig.query or "")
                series_values(sig, result)
                return len(json.dumps(result))
            return sum(await asyncio.gather(*(one(s) for s in signals)))

        async def after() -> int:
            async def one(sig) -> int:  # type: ignore[no-untyped-def]
                sample = await samplers[sig.source].sample(sig)
                assert sample.problem is None and sample.age is not None, (sig.id, sample.problem)
                return 0
            await asyncio.gather(*(one(s) for s in signals))
            return 0

        sizes: dict[str, tuple[int, int]] = {}
        for sig in signals:
            plain = await samplers[sig.source]._query(sig.query or "")
            env = await samplers[sig.source]._query(promql.envelope(sig.query or "", sources[sig.source].targets))
            sizes[sig.id] = (len(json.dumps(plain)), len(json.dumps(env)))
        print(f"academy profile: {len(signals)} Prometheus signals on {len(sources)} sources, "
              f"{refreshes} refreshes each way, signals sampled concurrently")
        for name, fn in (("before (query only)", before), ("after (envelope)", after)):
            for s in samplers.values():
                s.queries = 0
            await fn()  # warm-up (connections, Prometheus caches)
            for s in samplers.values():
                s.queries = 0
            times = []
            for _ in range(refreshes):
                t = time.perf_counter()
                await fn()
                times.append((time.perf_counter() - t) * 1000)
            queries = sum(s.queries for s in samplers.values()) / refreshes
            print(f"  {name:22} {queries:.1f} round trips/refresh   "
                  f"{statistics.median(times):6.2f} ms median   {pct(times, 0.95):6.2f} ms p95 per refresh")
        print("  answer bytes per signal (query only -> envelope):")
        for sid, (plain_n, env_n) in sizes.items():
            print(f"    {sid:16} {plain_n:6d} -> {env_n:6d}")
    finally:
        for s in samplers.values():
            await s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refreshes", type=int, default=200)
    args = ap.parse_args()
    with running_exporter() as exp:
        exp.before_scrape = traffic
        for q in ("feed", "notifications", "search-index"):
            for suffix in ("", ":delayed", ":reserved"):
                exp.set("redis_key_size", 7, key=f"laravel_database_queues:{q}{suffix}", db="db0")
        exp.set("analytics_ingestion_lag_seconds", 12)
        with tempfile.TemporaryDirectory() as tmp, running_prometheus(Path(tmp), [exp.target], RULES) as prom:
            prom.wait_for('http_5xx_rate{stack="blue"}')
            asyncio.run(run(prom.url, args.refreshes))


if __name__ == "__main__":
    main()
