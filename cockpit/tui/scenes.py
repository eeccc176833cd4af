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

from cockpit.feed import FeedStatus, JournalEvent, OutputEvent
from cockpit.profile.model import Profile

T0 = 1_764_324_000.0  # 2025-11-28 10:00:00 UTC: the frozen "now" of every scene
STEP = 5.0  # seconds between samples
SPAN = 900.0  # 15 minutes of history
USER_HOST = "deploy@bastion-1"

SIZES = {"80x24": (80, 24), "120x36": (120, 36), "200x50": (200, 50)}
# what each scene shows -> (modal, green, read-only, failed step)
KINDS: dict[str, tuple[str, bool, bool, bool]] = {
    "mid-rollback": ("", False, False, False),
    "typed-confirmation": ("confirm", False, False, False),
    "failed-step-detail": ("detail", False, False, True),
    "failed-step-hosts": ("hosts", False, False, True),
    "help": ("help", False, False, False),
    "read-only": ("", False, True, False),
    "all-green": ("", True, False, False),
    "forecast-late": ("", False, False, False),
}
# every kind at 120x36; the four the issue names also at 80x24 and 200x50
SCENES = tuple(
    [f"{kind}-{size}" for kind in ("mid-rollback", "typed-confirmation", "failed-step-detail", "help")
     for size in SIZES]
    + ["read-only-120x36", "all-green-120x36", "forecast-late-120x36", "failed-step-hosts-120x36"]
)


# earlier drills of the profile (seconds each rollback/validate step took, one row per drill): the
# forecast-late scene's projection is computed from these by cockpit.forecast, as live
EARLIER_DRILLS = (
    {"announce-start": 1.0, "horizon-pause": 20.0, "fpm-flag": 15.0, "fpm-reload": 40.0, "octane-stop": 60.0,
     "migrate-rollback": 480.0, "horizon-continue": 20.0, "announce-end": 1.0},
    {"announce-start": 1.0, "horizon-pause": 30.0, "fpm-flag": 20.0, "fpm-reload": 60.0, "octane-stop": 90.0,
     "migrate-rollback": 600.0, "horizon-continue": 30.0, "announce-end": 1.0},
    {"announce-start": 2.0, "horizon-pause": 25.0, "fpm-flag": 18.0, "fpm-reload": 50.0, "octane-stop": 75.0,
     "migrate-rollback": 540.0, "horizon-continue": 25.0, "announce-end": 2.0},
)


def earlier_journals(rollback: float) -> list[list[dict[str, Any]]]:
    """The journals those drills left (only what the forecast reads: each step's ``step_end``)."""
    out = []
    for n, drill in enumerate(EARLIER_DRILLS, 1):
        day = rollback - n * 7 * 86400.0
        out.append([{"type": "step_end", "ts": day + i * 600.0, "step": step, "state": "ok", "duration": took}
                    for i, (step, took) in enumerate(drill.items())])
    return out


@dataclass(frozen=True)
class Scene:
    name: str
    size: tuple[int, int]
    read_only: bool
    green: bool
    modal: str  # "" | "confirm" | "detail" | "help" | "hosts"
    failed: bool


def scene(name: str) -> Scene:
    if name not in SCENES:
        raise KeyError(f"unknown scene {name!r} (scenes: {', '.join(SCENES)})")
    kind, size = name.rsplit("-", 1)
    modal, green, read_only, failed = KINDS[kind]
    return Scene(name=name, size=SIZES[size], read_only=read_only, green=green, modal=modal, failed=failed)


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
        # the alerts panel: 1 pages, 0 covered by the rollback's silence (fired at rollback + 5)
        "alerts": ({"Http5xxHigh": 1.0} if rate > 0.001 else {}) | (
            {"HorizonPaused": 0.0, "HorizonQueueGrowing": 0.0, "OctaneDown": 0.0} if ts >= rollback + 5
            else {"DeployHealthDegraded": 1.0}),
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
    ran("silence-pager", rollback + 5, 0.3, [])
    ran("horizon-pause", rollback + 10, 2.1, workers)
    ran("fpm-flag", rollback + 25, 1.4, web)
    if green:
        ran("fpm-reload", rollback + 40, 2.2, web)
        ran("octane-stop", rollback + 55, 3.0, web)
        ran("migrate-rollback", rollback + 80, 9.5, console)
        ran("horizon-continue", rollback + 110, 1.9, workers)
        # every check green by T0 - 120: the end is announced, the rollback ended, CS told, CAB sign-off posted
        ran("announce-end", T0 - 110, 0.5, [])
        e.append({"type": "rollback_end", "ts": T0 - 109.5, "by": USER_HOST, "within_rto": True})
        ran("cs-email", T0 - 90, 0.8, [])
        ran("cab-signoff", T0 - 60, 1.1, [])
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


FAILED_HOSTS = [
    {"host": "web-1.academy.internal", "state": "ok", "exit_status": 0, "duration": 1.9,
     "tail": ["Reloading PHP 8.2 FastCGI Process Manager: php-fpm8.2."]},
    {"host": "web-2.academy.internal", "state": "failed", "exit_status": 1, "duration": 2.4,
     "error": "exit status 1",
     "tail": ["Job for php8.2-fpm.service failed because the control process exited with error code.",
              "See \"systemctl status php8.2-fpm.service\" and \"journalctl -xeu php8.2-fpm.service\" for details."]},
]


@dataclass
class FixedFeed:
    """A `cockpit.feed.Feed` of fixed values: a real SeriesStore, CheckEngine and Session, frozen."""

    profile: Profile
    store: Any
    engine: Any
    session: Any
    events: list[Any]
    status_: FeedStatus
    running: dict[str, Any]

    def signal_view(self, signal_id: str, now: float) -> Any:
        try:
            return self.store.view(signal_id, now)
        except KeyError:
            return None

    def check_states(self) -> list[Any]:
        return list(self.engine.states())

    def check_history(self, check_id: str) -> list[tuple[float, str]]:
        return list(self.engine.history(check_id))

    def status(self) -> FeedStatus:
        return self.status_

    def subscribe(self, sink: Callable[[Any], None]) -> Callable[[], None]:
        """Delivers the scene's output and step ends once (as a live feed would have), then nothing."""
        for event in self.events:
            sink(event)
        return lambda: None


def fixed_feed(profile: Profile, green: bool, failed: bool = False) -> FixedFeed:
    """The scene's data pushed through a real SeriesStore, CheckEngine and Session."""
    from cockpit.checks import CheckEngine
    from cockpit.results import OutputLine
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
    entries = journal_entries(profile, rollback, green)
    if failed:  # the FPM reload failed on one host instead of running
        entries[-1] = {"type": "step_start", "ts": T0 - 30, "step": "fpm-reload"}
        entries.append({"type": "step_end", "ts": T0 - 27.6, "step": "fpm-reload", "state": "partial",
                        "started": T0 - 30, "hosts": FAILED_HOSTS, "reason": "1 of 2 hosts ok"})
    session = Session.from_entries(entries)
    events: list[Any] = [
        OutputEvent(OutputLine(step_id, host, "stdout", text, T0))
        for step_id, host, text in OUTPUT + (OUTPUT_GREEN if green else [])
    ]
    events += [JournalEvent(e) for e in entries if e["type"] == "step_end" and e["state"] != "ok"]
    holder = f"{USER_HOST} (pid 4242) since {_clock(rollback - 300)}"
    status = FeedStatus(is_driver=True, lock_holder=holder, connections="ssh 4/4 connected",
                        journal_path="~/.local/state/cockpit/journals/academy-production.jsonl")
    return FixedFeed(profile, store, engine, session, events, status, {})


def _clock(ts: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(ts))


def build(name: str) -> tuple[Any, Callable[[Any], Any]]:
    """(app, setup): run ``await setup(pilot)`` once the app is running to put the scene on screen."""
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.present import step_prompt
    from cockpit.tui.screens import ConfirmStepScreen

    sc = scene(name)
    profile = academy_profile()
    fixed = fixed_feed(profile, sc.green, failed=sc.failed)
    if sc.read_only:
        fixed.status_ = FeedStatus(is_driver=False, read_only=True, lock_holder=fixed.status_.lock_holder)
    if name.startswith("forecast-late"):
        from dataclasses import replace

        from cockpit.forecast import project, stats_of

        session = fixed.session
        assert session.rollback_started is not None
        f = project(profile, stats_of(earlier_journals(session.rollback_started)), now=T0, done=session.done,
                    running={s: session.steps[s].started for s in session.running},
                    rollback_started=session.rollback_started)
        fixed.status_ = replace(fixed.status_, forecast=f.text(), forecast_warning=f.warning)
    app = CockpitApp(profile, feed=fixed, read_only=sc.read_only, clock=lambda: T0, user_host=USER_HOST)

    async def setup(pilot: Any) -> None:
        await pilot.pause()
        if sc.modal == "confirm":
            step = profile.step("migrate-rollback")
            prompt = step_prompt(profile, step, session=fixed.session)

            async def preview() -> str:
                return PREVIEW

            screen = ConfirmStepScreen(prompt, preview)
            await app.push_screen(screen)
            for typed in screen.query("#typed"):
                typed.cursor_blink = False  # type: ignore[attr-defined]  # a blinking cursor makes two images
            for _ in range(100):  # the preview loads in a worker: wait for it (deterministic images)
                await pilot.pause()
                if "loading preview" not in str(screen.query_one("#preview-text").render()):
                    break
        elif sc.modal == "detail":
            app.show_detail("step", "fpm-reload")
        elif sc.modal == "help":
            await app.push_screen(app.help_screen())
        elif sc.modal == "hosts":   # ctrl+o on the failed step: every host, failed first to the eye
            app.checklist.move_to("step", "fpm-reload")
            app.action_hosts()
        await pilot.pause()
        await pilot.pause()

    return app, setup


PREVIEW = """web-1.academy.internal │ +------+-----------------------------------------------+-------+
web-1.academy.internal │ | Ran? | Migration                                     | Batch |
web-1.academy.internal │ | Yes  | 2025_11_20_000001_contract_drop_legacy_feed   | 42    |
web-1.academy.internal │ +------+-----------------------------------------------+-------+
web-1.academy.internal │ DropLegacyFeed: alter table `posts` drop `legacy_feed_id`"""
