"""The simulated Academy platform: a pure state machine with an injectable clock.

The simulation starts seven (simulated) minutes into an incident caused by a bad
performance release: both web hosts serve through Octane (the release's
``OCTANE_ENABLED=true``), whose leaking workers answer a rising share of 5xx; the
release's contract migrations dropped columns that queued jobs still read, so
jobs fail and are retried, Horizon falls behind and the queues back up; the
blue stack's ``/healthz`` flaps; analytics ingestion lag grows with the
search-index backlog.

Everything is driven by :meth:`AcademySim.sync`, which integrates the model in
fixed steps of simulated time up to ``(clock() - wall0) * speed``. With the same
seed and the same sequence of clock readings the simulation is deterministic;
with a frozen clock nothing moves (snapshot tests).

Which host state is shared and which is per host follows the real platform:
Redis (queues, Horizon's master list) and the database (migrations) are shared;
``.env``, php-fpm, Octane and the Horizon master process are per host. So
``horizon:pause`` pauses only the workers of the host it runs on, while
``horizon:status`` reports on every master (Horizon's own StatusCommand answers
"paused" when ANY master is paused).
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Clock = Callable[[], float]
HorizonState = Literal["running", "paused", "inactive"]

WEB_HOSTS = ("web-1", "web-2")
WORKER_HOSTS = ("worker-1", "worker-2")
CONSOLE_HOSTS = ("console",)
HOSTS = WEB_HOSTS + WORKER_HOSTS + CONSOLE_HOSTS
QUEUES = ("feed", "notifications", "search-index")

APP_DIR = "/var/www/academy/current"
ENV_FILE = f"{APP_DIR}/.env"

TICK = 1.0  # simulated seconds per integration step
INCIDENT_AGE = 420.0  # the bad release went out this long before the simulation starts
HISTORY = 7200  # ticks of history kept for range queries

# jobs per second pushed by the web tier, and processed per running worker host
ARRIVALS = {"feed": 30.0, "notifications": 12.0, "search-index": 22.0}
CAPACITY = {"feed": 35.0, "notifications": 14.0, "search-index": 26.0}
START_DEPTH = {"feed": 2400.0, "notifications": 860.0, "search-index": 3900.0}
WORKERS_PER_HOST = {"feed": 6, "notifications": 4, "search-index": 2}  # config/horizon.php
DEGRADED_HEALTH = 0.35  # share of jobs that succeed while the contract migrations are applied

FPM_BASE_ERRORS = 0.0002
STALE_SOCKET_ERRORS = 0.0025  # Octane still running behind an FPM host: stale sockets
CONTRACT_ERRORS = 0.004  # requests reading the dropped legacy columns
COLD_CACHE_ERRORS = 0.0015  # communities cache flushed and not warmed: timeouts under load
ERROR_TAU = 30.0  # the reported rate is smoothed like rate(...[1m])
TURBULENCE_TAU = 60.0


@dataclass(frozen=True)
class Migration:
    name: str
    path: str  # folder relative to the app, e.g. database/migrations/contract
    cls: str
    down_sql: tuple[str, ...] = ()
    duration: float = 0.05  # simulated seconds to roll it back


MIGRATIONS: tuple[Migration, ...] = (
    Migration("2014_10_12_000000_create_users_table", "database/migrations", "CreateUsersTable"),
    Migration("2019_08_19_000000_create_failed_jobs_table", "database/migrations", "CreateFailedJobsTable"),
    Migration("2021_03_02_101500_create_communities_table", "database/migrations", "CreateCommunitiesTable"),
    Migration("2023_05_11_084200_create_feed_items_table", "database/migrations", "CreateFeedItemsTable"),
    Migration(
        "2026_11_20_090000_add_plan_tier_to_users_table",
        "database/migrations/expand",
        "AddPlanTierToUsersTable",
    ),
    Migration(
        "2026_11_20_090100_add_score_v2_to_feed_items_table",
        "database/migrations/expand",
        "AddScoreV2ToFeedItemsTable",
    ),
    Migration(
        "2026_11_24_070000_drop_legacy_plan_from_users_table",
        "database/migrations/contract",
        "DropLegacyPlanFromUsersTable",
        ("alter table `users` add `legacy_plan` varchar(32) null after `plan_tier`",),
        2.4,
    ),
    Migration(
        "2026_11_24_070100_drop_score_from_feed_items_table",
        "database/migrations/contract",
        "DropScoreFromFeedItemsTable",
        (
            "alter table `feed_items` add `score` double(8, 2) not null default '0'",
            "alter table `feed_items` add index `feed_items_score_index`(`score`)",
        ),
        1.6,
    ),
)
START_BATCHES = {m.name: b for m, b in zip(MIGRATIONS, (1, 1, 3, 5, 7, 7, 8, 8), strict=True)}


def _env_text(octane: bool) -> str:
    return (
        "APP_NAME=Academy\nAPP_ENV=production\nAPP_DEBUG=false\nAPP_URL=https://academy.example\n"
        f"OCTANE_ENABLED={'true' if octane else 'false'}\nOCTANE_SERVER=swoole\n"
        "QUEUE_CONNECTION=redis\nCACHE_DRIVER=redis\nDB_CONNECTION=mysql\n"
    )


@dataclass
class HostState:
    """What lives on one host: its files, its php-fpm, its Octane server, its Horizon master."""

    name: str
    role: Literal["web", "worker", "console"]
    files: dict[str, str]
    octane_running: bool = False
    fpm_octane_flag: bool | None = None  # OCTANE_ENABLED as php-fpm read it at its last (re)load
    fpm_reloads: int = 0
    horizon: HorizonState = "inactive"
    horizon_pid: int | None = None
    fpm_pid: int | None = None
    octane_pid: int | None = None
    config_cache: dict[str, str] | None = None  # bootstrap/cache/config.php: .env as it was when cached
    migration_files: bool = True  # false after `schema:dump --prune` deleted database/migrations
    health_bad: bool = False  # its /healthz is failing (faults come in runs, not coin flips)

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in self.files.get(ENV_FILE, "").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                out[key.strip()] = value.strip().strip('"')
        return out

    @property
    def config(self) -> dict[str, str]:
        """The configuration the app runs with: the cached one if any (then .env is not read)."""
        return dict(self.config_cache) if self.config_cache is not None else self.env

    @property
    def serving(self) -> Literal["octane", "fpm", "none"]:
        if self.fpm_octane_flag is None:
            return "none"
        return "octane" if self.fpm_octane_flag else "fpm"


@dataclass(frozen=True)
class Snapshot:
    """The reported values at one tick (what Prometheus would have scraped)."""

    t: float
    queues: dict[str, float]
    error_rate: float
    lag: float
    failed_jobs: float
    workers: dict[str, float]


@dataclass(frozen=True)
class Health:
    """One /healthz answer of the blue stack."""

    status: int
    delay: float  # seconds (wall) before answering
    body: str
    content_type: str = "application/json"


@dataclass
class AcademySim:
    """The whole platform. Mutated only through its methods; read by the servers."""

    speed: float = 1.0
    seed: int = 7
    clock: Clock = time.time
    wall0: float = field(init=False)
    t: float = field(init=False, default=0.0)
    hosts: dict[str, HostState] = field(init=False)
    queues: dict[str, float] = field(init=False)
    batches: dict[str, int | None] = field(init=False)
    error_level: float = field(init=False, default=0.0)
    start_error: float = field(init=False, default=0.0)
    turbulence: float = field(init=False, default=0.0)
    failed_jobs: float = field(init=False, default=1843.0)
    migrating: int = field(init=False, default=0)
    cache_warm: bool = field(init=False, default=True)
    schema_dumped: bool = field(init=False, default=False)
    health_counter: int = field(init=False, default=0)
    events: deque[tuple[float, str]] = field(init=False, default_factory=lambda: deque(maxlen=1000))
    history: deque[Snapshot] = field(init=False)

    def __post_init__(self) -> None:
        if not self.speed > 0 or not math.isfinite(self.speed):
            raise ValueError(f"speed must be a positive number, not {self.speed!r}")
        self.rng = random.Random(self.seed)
        self.wall0 = self.clock()
        self.hosts = {}
        pid = 2100 + self.rng.randrange(800)
        for name in HOSTS:
            pid += 97 + self.rng.randrange(400)
            role: Literal["web", "worker", "console"] = (
                "web" if name in WEB_HOSTS else "worker" if name in WORKER_HOSTS else "console"
            )
            h = HostState(name, role, {ENV_FILE: _env_text(octane=role == "web")})
            h.config_cache = h.env  # production hosts run `config:cache` at deploy
            if role == "web":
                h.octane_running, h.fpm_octane_flag, h.fpm_pid, h.octane_pid = True, True, pid, pid + 41
                h.health_bad = True  # the incident is under way: Octane's workers are exhausted
            elif role == "worker":
                h.horizon, h.horizon_pid = "running", pid
            self.hosts[name] = h
        self.queues = dict(START_DEPTH)
        self.batches = dict(START_BATCHES)
        self.error_level = self.start_error = self._target_error()
        self.history = deque(maxlen=HISTORY)
        self.history.append(self._snapshot())

    # ---------------------------------------------------------------- time

    def now_sim(self) -> float:
        """Simulated seconds since the simulation started, per the clock."""
        return max(0.0, (self.clock() - self.wall0) * self.speed)

    def sim_of(self, wall: float) -> float:
        """Simulated time at wall time ``wall``. Before the start time is not compressed: the
        backfilled panels show the incident building up over the real minutes before the demo."""
        delta = wall - self.wall0
        return delta * self.speed if delta >= 0 else delta

    def sync(self) -> None:
        """Integrate the model up to the clock's present."""
        target = self.now_sim()
        while self.t + TICK <= target:
            self._tick()

    # ---------------------------------------------------------------- the model

    @property
    def contract_applied(self) -> bool:
        return any(self.batches.get(m.name) is not None for m in MIGRATIONS if m.path.endswith("contract"))

    def _octane_errors(self) -> float:
        age = INCIDENT_AGE + self.t
        return min(0.08, 0.008 + 0.00002 * age)

    def _host_errors(self, h: HostState) -> float:
        if h.serving == "octane":
            e = self._octane_errors() if h.octane_running else 1.0  # nginx: 502, nothing listens
        else:
            e = FPM_BASE_ERRORS + (STALE_SOCKET_ERRORS if h.octane_running else 0.0)
        e += CONTRACT_ERRORS if self.contract_applied else 0.0
        e += 0.0 if self.cache_warm else COLD_CACHE_ERRORS
        return min(1.0, e)

    def _target_error(self) -> float:
        web = [self.hosts[n] for n in WEB_HOSTS]
        return min(1.0, sum(self._host_errors(h) for h in web) / len(web) + self.turbulence)

    def _health(self) -> float:
        return DEGRADED_HEALTH if self.contract_applied else 1.0

    def _tick(self) -> None:
        self.t += TICK
        rng = self.rng
        running = [h for h in self.hosts.values() if h.horizon == "running"]
        if self.migrating and running:
            # jobs written while the schema changes under them fail: retried, and counted as failed
            self.turbulence = min(0.08, self.turbulence + 0.02)
            failed = 20 + rng.randrange(25)
            self.failed_jobs += failed
            self.queues["feed"] += failed
        else:
            self.turbulence *= math.exp(-TICK / TURBULENCE_TAU)
        health = self._health()
        for q in QUEUES:
            arrivals = ARRIVALS[q] * (1 + rng.uniform(-0.12, 0.12))
            capacity = CAPACITY[q] * len(running) * health
            if health < 1.0 and running:
                self.failed_jobs += capacity * 0.02
            self.queues[q] = max(0.0, self.queues[q] + (arrivals - capacity) * TICK)
        alpha = 1 - math.exp(-TICK / ERROR_TAU)
        self.error_level += (self._target_error() - self.error_level) * alpha
        self.history.append(self._snapshot())

    def _snapshot(self) -> Snapshot:
        rng = self.rng
        queues = {}
        for q in QUEUES:
            in_flight = ARRIVALS[q] * rng.uniform(0.2, 1.1)  # jobs pushed since the last pop
            queues[q] = float(round(self.queues[q] + in_flight))
        err = max(0.0, self.error_level * (1 + rng.gauss(0, 0.04)))
        lag = 6.0 + self.queues["search-index"] / ARRIVALS["search-index"] + rng.uniform(-1.5, 1.5)
        workers = {
            q: float(sum(WORKERS_PER_HOST[q] for h in self.hosts.values() if h.horizon != "inactive"))
            for q in QUEUES
        }
        return Snapshot(
            self.t, queues, round(err, 6), round(max(0.0, lag), 1), round(self.failed_jobs), workers
        )

    # ---------------------------------------------------------------- reading

    def current(self) -> Snapshot:
        self.sync()
        return self.history[-1]

    def at(self, wall: float) -> Snapshot | None:
        """The snapshot in force at wall time ``wall`` (synthesised before the start), None if future."""
        self.sync()
        t = self.sim_of(wall)
        if t > self.t + TICK:
            return None
        if t < 0:
            return self._prehistory(t)
        first = self.history[0].t
        idx = int((t - first) // TICK)
        return self.history[max(0, min(idx, len(self.history) - 1))]  # older than kept: the oldest

    def _prehistory(self, t: float) -> Snapshot:
        """Values before the simulation started: calm until the release, then the incident builds up."""
        rng = random.Random(self.seed * 1_000_003 + int(t))
        age = INCIDENT_AGE + t  # seconds since the bad release at simulated time t
        if age < 0:
            share, err = 0.0, FPM_BASE_ERRORS
        else:
            share = min(1.0, age / INCIDENT_AGE)
            err = FPM_BASE_ERRORS + (self.start_error - FPM_BASE_ERRORS) * share
        queues = {
            q: float(round(ARRIVALS[q] * rng.uniform(0.2, 1.1) + START_DEPTH[q] * share**1.5)) for q in QUEUES
        }
        lag = (
            6.0 + START_DEPTH["search-index"] * share**1.5 / ARRIVALS["search-index"] + rng.uniform(-1.5, 1.5)
        )
        workers = {q: float(WORKERS_PER_HOST[q] * len(WORKER_HOSTS)) for q in QUEUES}
        return Snapshot(
            t, queues, round(err * (1 + rng.gauss(0, 0.04)), 6), round(lag, 1), round(1843 * share), workers
        )

    def healthz(self) -> Health:
        """One request to the blue stack's /healthz, served by the web hosts in turn."""
        self.sync()
        web = self.hosts[WEB_HOSTS[self.health_counter % len(WEB_HOSTS)]]
        self.health_counter += 1
        slow = 1.2 / max(1.0, self.speed) ** 0.75  # a slow answer, shortened less than time
        if web.serving == "octane" and not web.octane_running:
            return Health(502, 0.0, "<html><head><title>502 Bad Gateway</title></head></html>\n", "text/html")
        # A real fault persists: an exhausted worker pool stays exhausted for a while, a stale socket
        # fails a run of requests. Each host's health is a two-state chain (P(ok -> bad), P(bad -> ok)),
        # so a degraded stack answers "200 twice in a row" only by rare accident.
        if web.serving == "octane":
            if self._health_run(web, fail=0.7, recover=0.015):
                return Health(500, slow * 0.4, _health_body(web.name, "fail", octane="worker exhausted"))
            return Health(200, slow, _health_body(web.name, "ok", octane="slow"))
        if web.serving == "fpm" and web.octane_running:
            if self._health_run(web, fail=0.08, recover=0.5):
                return Health(500, 0.0, _health_body(web.name, "fail", octane="stale socket"))
            return Health(200, 0.0, _health_body(web.name, "ok"))
        if self.contract_applied:
            if self._health_run(web, fail=0.15, recover=0.4):
                return Health(
                    500, 0.0, _health_body(web.name, "fail", database="column feed_items.score not found")
                )
            return Health(200, 0.0, _health_body(web.name, "ok"))
        web.health_bad = False
        return Health(200, 0.0, _health_body(web.name, "ok"))

    # ---------------------------------------------------------------- actions (the hosts' commands)

    def _health_run(self, host: HostState, *, fail: float, recover: float) -> bool:
        """Advance ``host``'s health chain by one request; True while it is failing."""
        r = self.rng.random()
        host.health_bad = r >= recover if host.health_bad else r < fail
        return host.health_bad

    def note(self, text: str) -> None:
        self.events.append((self.t, text))

    def horizon_signal(self, host: str, signal: Literal["USR2", "CONT"]) -> int | None:
        """Pause (USR2) or continue (CONT) the Horizon master on ``host``; its pid, or None if none runs."""
        self.sync()
        h = self.hosts[host]
        if h.horizon == "inactive" or h.horizon_pid is None:
            return None
        h.horizon = "paused" if signal == "USR2" else "running"
        self.note(f"{host}: horizon {h.horizon}")
        return h.horizon_pid

    def horizon_status(self) -> HorizonState:
        """What ``horizon:status`` says: over every master in the shared Redis."""
        self.sync()
        masters = [h.horizon for h in self.hosts.values() if h.horizon != "inactive"]
        if not masters:
            return "inactive"
        return "paused" if "paused" in masters else "running"

    def fpm_reload(self, host: str) -> bool:
        """Graceful php-fpm reload: workers pick up the .env as it is now. False if no php-fpm here."""
        self.sync()
        h = self.hosts[host]
        if h.fpm_octane_flag is None:
            return False
        h.fpm_octane_flag = h.config.get("OCTANE_ENABLED", "false").lower() in ("true", "1", "yes", "on")
        h.fpm_reloads += 1
        self.note(f"{host}: php-fpm reloaded, serving {h.serving}")
        return True

    def octane_stop(self, host: str) -> bool:
        """Stop the Octane server on ``host`` (purges its in-memory cache store); False if not running."""
        self.sync()
        h = self.hosts[host]
        if not h.octane_running:
            return False
        h.octane_running = False
        self.note(f"{host}: octane stopped")
        return True

    def begin_migration(self) -> None:
        self.sync()
        self.migrating += 1

    def end_migration(self) -> None:
        self.sync()
        self.migrating = max(0, self.migrating - 1)

    def last_batch(self) -> list[Migration]:
        """Migrations of the last batch, newest first (what ``migrate:rollback`` looks at)."""
        ran = [b for b in self.batches.values() if b is not None]
        if not ran:
            return []
        last = max(ran)
        return [m for m in reversed(MIGRATIONS) if self.batches.get(m.name) == last]

    def roll_back(self, migration: Migration) -> None:
        self.sync()
        self.batches[migration.name] = None
        self.note(f"rolled back {migration.name}")

    def config_cache(self, host: str, cached: bool) -> None:
        h = self.hosts[host]
        h.config_cache = h.env if cached else None

    def app_cache(self, warm: bool) -> None:
        """The shared (Redis) application cache: flushed by cache:clear, filled by communities:cache."""
        self.sync()
        self.cache_warm = warm
        self.note(f"application cache {'warm' if warm else 'flushed'}")

    def recovered(self) -> bool:
        """Every validation check of the runbook would pass on the latest values."""
        s = self.current()
        return all(v < 100 for v in s.queues.values()) and s.error_rate < 0.001 and s.lag < 60


def _health_body(host: str, status: str, **checks: str) -> str:
    import json

    base = {"database": "ok", "redis": "ok", "octane": "ok"}
    base.update(checks)
    return json.dumps({"status": status, "host": host, "stack": "blue", "checks": base}) + "\n"
