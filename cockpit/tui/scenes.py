"""Fixed, deterministic scenes of the cockpit for snapshot tests and screenshots.

Each scene is the bundled Academy profile with fixed data pushed through the
real engine parts (a SeriesStore filled with computed samples, a CheckEngine
evaluating them, a Session replayed from journal entries) at a frozen clock.
No network, no randomness, no wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cockpit.profile.model import Profile

T0 = 1_764_324_000.0  # 2025-11-28 10:00:00 UTC: the frozen "now" of every scene
STEP = 5.0  # seconds between samples
SPAN = 900.0  # 15 minutes of history
USER_HOST = "deploy@bastion-1"

SCENES = ("driver-mid-rollback", "compact-80x24", "read-only", "typed-confirmation", "all-green")
SIZES = {"compact-80x24": (80, 24)}


@dataclass(frozen=True)
class Scene:
    name: str
    size: tuple[int, int]
    read_only: bool
    green: bool
    modal: bool


def scene(name: str) -> Scene:
    if name not in SCENES:
        raise KeyError(f"unknown scene {name!r} (scenes: {', '.join(SCENES)})")
    return Scene(
        name=name,
        size=SIZES.get(name, (120, 36)),
        read_only=name == "read-only",
        green=name == "all-green",
        modal=name == "typed-confirmation",
    )


def academy_profile() -> Profile:
    from cockpit.profile.load import load_profile
    from cockpit.profile.locate import locate_profile

    return load_profile(locate_profile("academy"))


def _ease(t: float, start: float, end: float) -> float:
    """Smoothly from ``start`` to ``end`` as t goes 0 -> 1."""
    t = min(1.0, max(0.0, t))
    return start + (end - start) * (1 - math.cos(math.pi * t)) / 2


def samples(ts: float, rollback: float, green: bool) -> dict[str, dict[str, float]]:
    """Every signal's values at ``ts`` (a bad release until ``rollback``, recovering after)."""
    horizon = 600.0 if green else 420.0  # seconds the recovery takes
    t = (ts - rollback) / horizon if ts >= rollback else 0.0
    wobble = math.sin(ts / 40.0)
    queues = {
        "feed": _ease(t, 860 + 40 * wobble, 42),
        "notifications": _ease(t, 310 + 20 * wobble, 18),
        "search-index": _ease(t, 140 + 10 * wobble, 7),
    }
    fast = (ts - rollback) / (200.0 if green else 420.0) if ts >= rollback else 0.0  # 5xx clears first
    rate = _ease(fast, 0.031 + 0.004 * wobble, 0.0003)
    lag = _ease(t, 260 + 30 * wobble, 12)
    if ts < rollback:
        status = 500.0 if int(ts / STEP) % 3 else 0.0
    else:
        status = 200.0 if t > 0.35 or int(ts / STEP) % 4 == 0 else 503.0
    return {
        "queues": {k: round(v) for k, v in queues.items()},
        "horizon_workers": {"feed": 6.0, "notifications": 4.0, "search-index": 2.0 if green else 1.0},
        "http_5xx": {"": rate},
        "healthz": {"": status},
        "ingestion_lag": {"": round(lag, 1)},
    }


def journal_entries(profile: Profile, rollback: float, green: bool) -> list[dict[str, Any]]:
    """The session as a driver's journal would hold it at T0."""
    env = profile.cockpit.environment
    e: list[dict[str, Any]] = [
        {"type": "session_start", "ts": rollback - 300, "session": "demo-scene", "profile": profile.cockpit.name,
         "environment": env, "rto_budget": profile.cockpit.rto, "mode": "driver", "user": "deploy",
         "host": "bastion-1"},
    ]

    def ran(step_id: str, start: float, took: float, hosts: list[str], state: str = "ok") -> None:
        e.append({"type": "step_start", "ts": start, "step": step_id})
        e.append({"type": "step_end", "ts": start + took, "step": step_id, "state": state, "started": start,
                  "hosts": [{"host": h, "state": "ok", "exit_status": 0, "duration": took} for h in hosts]})

    web, workers = list(profile.hosts["web"]), list(profile.hosts["workers"])
    console = list(profile.hosts["console"])
    ran("clear-caches", rollback - 240, 3.2, web)
    ran("schema-dump", rollback - 200, 6.8, console)
    e.append({"type": "manual_tick", "ts": rollback - 150, "step": "horizon-scale", "note": "matches horizon.php",
              "by": USER_HOST})
    e.append({"type": "rollback_start", "ts": rollback, "by": USER_HOST})
    ran("announce-start", rollback + 2, 0.4, [])
    ran("horizon-pause", rollback + 10, 2.1, workers)
    ran("fpm-flag", rollback + 25, 1.4, web)
    if green:
        ran("fpm-reload", rollback + 40, 2.2, web)
        ran("octane-stop", rollback + 55, 3.0, web)
        ran("migrate-rollback", rollback + 80, 9.5, console)
        ran("horizon-continue", rollback + 110, 1.9, workers)
    else:
        e.append({"type": "step_start", "ts": T0 - 14, "step": "fpm-reload"})
    return e


OUTPUT = [
    ("horizon-pause", "worker-1.academy.internal", "Horizon paused."),
    ("horizon-pause", "worker-2.academy.internal", "Horizon paused."),
    ("fpm-flag", "web-1.academy.internal", "OCTANE_ENABLED=false"),
    ("fpm-flag", "web-2.academy.internal", "OCTANE_ENABLED=false"),
    ("fpm-reload", "web-1.academy.internal", "Reloading PHP 8.2 FastCGI Process Manager: php-fpm8.2."),
]
OUTPUT_GREEN = [
    ("fpm-reload", "web-2.academy.internal", "Reloading PHP 8.2 FastCGI Process Manager: php-fpm8.2."),
    ("octane-stop", "web-1.academy.internal", "Stopping server..."),
    ("migrate-rollback", "web-1.academy.internal", "Rolling back: 2025_11_20_000001_contract_drop_legacy_feed"),
    ("migrate-rollback", "web-1.academy.internal", "Rolled back:  2025_11_20_000001_contract_drop_legacy_feed"),
    ("horizon-continue", "worker-1.academy.internal", "Instructed Horizon to continue processing jobs."),
]


def feed(app: Any, profile: Profile, green: bool) -> None:
    """Push the scene's data through a real SeriesStore, CheckEngine and Session into ``app``."""
    from cockpit.checks import CheckEngine
    from cockpit.series import SeriesStore
    from cockpit.session import Session

    rollback = T0 - (700.0 if green else 252.0)
    start = T0 - SPAN
    store = SeriesStore(profile, now=start)
    engine = CheckEngine(profile, start)
    n = int(SPAN / STEP)
    for i in range(n + 1):
        ts = start + i * STEP
        for signal_id, values in samples(ts, rollback, green).items():
            store.record(signal_id, values, ts)
        engine.evaluate(store, ts, rollback)
    for sig in profile.signals:
        app.show_signal(sig.id, store.view(sig.id, T0))
    app.show_checks(engine.states())
    app.show_session(Session.from_entries(journal_entries(profile, rollback, green)))
    for step_id, host, text in OUTPUT + (OUTPUT_GREEN if green else []):
        app.show_output(step_id, host, text)


def build(name: str) -> tuple[Any, Callable[[Any], Any]]:
    """(app, setup): run ``await setup(pilot)`` once the app is running to put the scene on screen."""
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.present import step_prompt
    from cockpit.tui.screens import ConfirmStepScreen

    sc = scene(name)
    profile = academy_profile()
    app = CockpitApp(profile, read_only=sc.read_only, clock=lambda: T0, user_host=USER_HOST)

    async def setup(pilot: Any) -> None:
        feed(app, profile, sc.green)
        if sc.modal:
            step = profile.step("migrate-rollback")
            prompt = step_prompt(profile, step)

            async def preview() -> str:
                return PREVIEW

            await app.push_screen(ConfirmStepScreen(prompt, preview))
        await pilot.pause()
        await pilot.pause()

    return app, setup


PREVIEW = """web-1.academy.internal │ +------+-----------------------------------------------+-------+
web-1.academy.internal │ | Ran? | Migration                                     | Batch |
web-1.academy.internal │ | Yes  | 2025_11_20_000001_contract_drop_legacy_feed   | 42    |
web-1.academy.internal │ +------+-----------------------------------------------+-------+
web-1.academy.internal │ DropLegacyFeed: alter table `posts` drop `legacy_feed_id`"""
