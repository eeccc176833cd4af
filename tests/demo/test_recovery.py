"""The runbook driven over real SSH at high speed; the metrics read back over HTTP like cockpit reads them."""

from __future__ import annotations

import asyncio

import asyncssh
import httpx

from cockpit.demo.stack import DemoStack
from tests.demo.conftest import ARTISAN, connect, poll_until

FLAG = (
    "sed -i 's/^OCTANE_ENABLED=.*/OCTANE_ENABLED=false/' /var/www/academy/current/.env && "
    f"grep -qx 'OCTANE_ENABLED=false' /var/www/academy/current/.env && {ARTISAN} config:cache"
)


async def metrics(client: httpx.AsyncClient, stack: DemoStack) -> dict[str, float]:
    """Latest values of the demo profile's Prometheus signals, plus one /healthz status."""
    out: dict[str, float] = {}
    for signal in ("queues", "http_5xx", "ingestion_lag"):
        r = await client.get(
            f"{stack.profile.sources['prom'].url}/api/v1/query",
            params={"query": stack.profile.signal(signal).query},
        )
        for sample in r.json()["data"]["result"]:
            out[sample["metric"].get("queue", signal)] = float(sample["value"][1])
    out["healthz"] = float((await client.get(stack.profile.sources["blue"].url)).status_code)  # type: ignore[arg-type]
    return out


def green(m: dict[str, float]) -> bool:
    return (
        all(m[q] < 100 for q in ("feed", "notifications", "search-index"))
        and m["http_5xx"] < 0.001
        and m["ingestion_lag"] < 60
        and m["healthz"] == 200
    )


async def on_all(
    conns: dict[str, asyncssh.SSHClientConnection], hosts: tuple[str, ...], command: str
) -> None:
    results = await asyncio.gather(*(conns[h].run(command) for h in hosts))
    assert all(r.exit_status == 0 for r in results), [(r.stdout, r.stderr) for r in results]


async def rollback(stack: DemoStack, *, continue_horizon: bool) -> dict[str, asyncssh.SSHClientConnection]:
    hosts = ("web-1", "web-2", "worker-1", "worker-2", "console")
    conns = dict(zip(hosts, await asyncio.gather(*(connect(stack, h) for h in hosts)), strict=True))
    web, workers = ("web-1", "web-2"), ("worker-1", "worker-2")
    await on_all(conns, workers, f"{ARTISAN} horizon:pause")
    await on_all(conns, web, FLAG)
    await on_all(conns, web, "sudo systemctl reload php-fpm")
    await on_all(conns, web, f"{ARTISAN} octane:stop")
    await on_all(
        conns, ("console",), f"{ARTISAN} migrate:rollback --path=database/migrations/contract --force"
    )
    if continue_horizon:
        await on_all(conns, workers, f"{ARTISAN} horizon:continue")
    return conns


async def test_the_runbook_in_order_turns_every_check_green(stack: DemoStack) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        assert not green(await metrics(client, stack))
        conns = await rollback(stack, continue_horizon=True)
        try:
            last: dict[str, float] = {}

            async def recovered() -> bool:
                nonlocal last
                last = await metrics(client, stack)
                return green(last) and green(await metrics(client, stack))  # twice in a row: healthz x2

            # ~200 simulated seconds to drain the queues: 4 s at speed 50
            assert await poll_until(recovered, deadline=60, interval=0.1), last
        finally:
            for c in conns.values():
                c.close()


async def test_without_horizon_continue_the_queues_never_drain() -> None:
    async with DemoStack(speed=200) as stack, httpx.AsyncClient(timeout=5) as client:
        conns = await rollback(stack, continue_horizon=False)
        try:
            first = await metrics(client, stack)
            errors_down = False

            async def web_recovered() -> bool:
                nonlocal errors_down
                m = await metrics(client, stack)
                errors_down = m["http_5xx"] < 0.001
                return errors_down

            assert await poll_until(web_recovered, deadline=60, interval=0.1)

            async def minutes_later() -> bool:
                return stack.sim.now_sim() > 400

            assert await poll_until(minutes_later, deadline=60, interval=0.1)
            later = await metrics(client, stack)
            for q in ("feed", "notifications", "search-index"):
                assert later[q] > first[q] > 100, (q, first[q], later[q])
            assert later["ingestion_lag"] > 60
        finally:
            for c in conns.values():
                c.close()
