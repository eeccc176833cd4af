"""Figures for #15: the cost of the Alertmanager calls a rollback makes, against Debian's real
prometheus-alertmanager on loopback (with a real Prometheus firing three alerts into it).

    .venv/bin/python -m tests.bench.alertmanager [ROUNDS]

Prints the median and p90 wall time of: creating a silence, extending it (GET + POST with its
id), expiring it, and one sample of the alerts source (two concurrent GET /api/v2/alerts).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cockpit import alertmanager
from cockpit.profile.model import SignalSpec, SourceSpec
from cockpit.sources.alerts import AlertsSampler
from tests.integrations.conftest import RULES
from tests.support.alertmanager import poll, running_alertmanager
from tests.support.prometheus import TestPrometheus


def figures(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"{name:<28} median {statistics.median(ordered) * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms   (n={len(ordered)})"


async def bench(url: str, rounds: int) -> list[str]:
    client = alertmanager.Client(url, timeout=5.0)
    matchers = [alertmanager.parse_matcher('alertname="HorizonPaused"')]
    create, extend, expire = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        sid = await client.create_silence(matchers, time.time(), time.time() + 600, "bench", "bench")
        create.append(time.perf_counter() - t)
        t = time.perf_counter()
        await client.extend_silence(sid, time.time() + 1200)
        extend.append(time.perf_counter() - t)
        t = time.perf_counter()
        await client.expire_silence(sid)
        expire.append(time.perf_counter() - t)
    sampler = AlertsSampler(SourceSpec(id="am", kind="alertmanager", url=url, timeout=5.0))
    signal = SignalSpec(id="alerts", source="am", view="alerts", filter=('env="drill"',))
    sample = []
    for _ in range(rounds):
        t = time.perf_counter()
        await sampler.sample(signal)
        sample.append(time.perf_counter() - t)
    return [figures("create silence", create), figures("extend silence (GET+POST)", extend),
            figures("expire silence", expire), figures("alerts source sample", sample)]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    work = Path(tempfile.mkdtemp(prefix="bench-am-"))
    with running_alertmanager(work / "am") as am:
        prom = TestPrometheus(work / "prom", targets=[am.address], rules=RULES, alertmanagers=[am.address],
                              extra_args=["--rules.alert.resend-delay=1s"]).start()
        try:
            poll(lambda: len(am.alerts()) >= 3, timeout=30, what="the alerts")
            for line in asyncio.run(bench(am.url, rounds)):
                print(line)
        finally:
            prom.stop()


if __name__ == "__main__":
    main()
