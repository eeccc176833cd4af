"""Benchmark: the per-host view (ctrl+o) at 1,000 hosts and more (prints figures, asserts nothing).

    .venv/bin/python tests/bench/hosts_view.py --hosts 1000 --repeat 5

Measured, each a median of ``--repeat``: building the rows from a running step
(`cockpit.tui.hosts.host_rows`: 1,000 hosts, half done), opening the view (first paint),
a reload with every row changed (rows rebuilt + repaint), a reload with nothing changed,
one PgDn / End / Home (scroll + repaint), one press of the filter key, and how many lines
a reload with every row changed draws (only the visible rows: the list is virtualised). Each
key figure includes Pilot's own round trip (``unbound_key``: a key that does nothing;
``pause_alone``: a pause with nothing to do).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from types import MappingProxyType

from textual.app import App

from cockpit.controller import RunningStep
from cockpit.profile.model import CockpitSettings, Profile, SshSettings, StepSpec
from cockpit.results import HostResult
from cockpit.tui.hosts import HostsScreen, host_rows
from widgets.hosts import HostList, HostRow


def _profile(n: int) -> tuple[Profile, StepSpec]:
    hosts = tuple(f"web-{i:04d}.fleet.example" for i in range(n))
    step = StepSpec(id="reload", title="Reload php-fpm", phase="rollback", hosts="web", command="true")
    profile = Profile(path="bench.toml", cockpit=CockpitSettings(name="bench", environment="bench"),
                      ssh=SshSettings(), hosts=MappingProxyType({"web": hosts}), vars=MappingProxyType({}),
                      sources=MappingProxyType({}), signals=(), checks=(), steps=(step,))
    return profile, step


def _live(profile: Profile, done: int, salt: int = 0) -> RunningStep:
    hosts = tuple(profile.hosts["web"])
    run = RunningStep("reload", time.time() - 5, hosts)
    for i, h in enumerate(hosts[:done]):
        state = "ok" if i % 50 else ("failed" if i % 100 else "unreachable")
        run.done[h] = HostResult(h, state, 0 if state == "ok" else (1 if state == "failed" else None),  # type: ignore[arg-type]
                                 0.2 + i / 1000, (f"reloaded php-fpm ({salt})",))
    return run


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    t = time.perf_counter()
    await fn()
    return time.perf_counter() - t


async def bench(n: int, repeat: int) -> dict[str, list[float]]:
    profile, step = _profile(n)
    out: dict[str, list[float]] = {k: [] for k in ("build", "open", "reload_changed", "reload_same", "pagedown",
                                                   "end", "home", "filter", "lines_per_paint",
                                                   "pause_alone", "unbound_key")}
    state = {"live": _live(profile, n // 2)}
    lines = {h: "last line" for h in profile.hosts["web"]}

    def rows() -> tuple[HostRow, ...]:
        return host_rows(profile, step, None, state["live"], last_lines=lines, now=time.time())

    for _ in range(repeat):
        state["live"] = _live(profile, n // 2)
        t = time.perf_counter()
        built = rows()
        out["build"].append(time.perf_counter() - t)
        assert len(built) == n
        app: App[None] = App()
        async with app.run_test(size=(140, 40)) as pilot:
            screen = HostsScreen("reload", step.title, rows)
            t = time.perf_counter()
            await app.push_screen(screen)
            await pilot.pause()
            out["open"].append(time.perf_counter() - t)
            view = screen.query_one(HostList)
            await asyncio.sleep(0.2)   # the first paint is done
            state["live"] = _live(profile, n, salt=len(out["open"]))   # every row changes

            async def reload(screen: HostsScreen = screen) -> None:
                screen.reload()
                await pilot.pause()

            before = view.renders
            out["reload_changed"].append(await _timed(reload))
            await asyncio.sleep(0.1)   # let the compositor paint
            out["lines_per_paint"].append(view.renders - before)
            out["pause_alone"].append(await _timed(pilot.pause))
            out["reload_same"].append(await _timed(reload))

            for key in ("x", "pagedown", "end", "home", "f"):
                async def press(k: str = key) -> None:
                    await pilot.press(k)
                    await pilot.pause()
                out[{"f": "filter", "x": "unbound_key"}.get(key, key)].append(await _timed(press))
                await asyncio.sleep(0.05)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    figures = asyncio.run(bench(args.hosts, args.repeat))
    print(f"hosts view, {args.hosts} hosts, medians of {args.repeat}:")
    for name, values in figures.items():
        med = statistics.median(values)
        shown = f"{med:.0f} lines" if name == "lines_per_paint" else f"{med * 1000:.1f} ms"
        print(f"  {name:<16} {shown}")


if __name__ == "__main__":
    main()
