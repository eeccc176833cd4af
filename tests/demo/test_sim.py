"""The simulation as a pure state machine on a fake clock: commands played without real waiting."""

from __future__ import annotations

import itertools

from cockpit.demo.script import play
from cockpit.demo.shell import run_command
from cockpit.demo.sim import AcademySim

ARTISAN = "cd /var/www/academy/current && php artisan"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make(seed: int = 7) -> tuple[AcademySim, FakeClock]:
    clock = FakeClock()
    return AcademySim(speed=1.0, seed=seed, clock=clock), clock


def run(sim: AcademySim, clock: FakeClock, host: str, command: str) -> tuple[int, str]:
    def wait(seconds: float) -> None:
        clock.now += seconds / sim.speed
        sim.sync()

    status, lines = play(run_command(sim, host, command), wait)
    return status, "\n".join(line.text for line in lines)


def advance(sim: AcademySim, clock: FakeClock, seconds: float) -> None:
    clock.now += seconds
    sim.sync()


ROLLBACK_IN_ORDER = [
    ("worker-1", f"{ARTISAN} horizon:pause"),
    ("worker-2", f"{ARTISAN} horizon:pause"),
    *[
        (
            h,
            "sed -i 's/^OCTANE_ENABLED=.*/OCTANE_ENABLED=false/' /var/www/academy/current/.env && "
            f"grep -qx 'OCTANE_ENABLED=false' /var/www/academy/current/.env && {ARTISAN} config:cache",
        )
        for h in ("web-1", "web-2")
    ],
    ("web-1", "sudo systemctl reload php-fpm"),
    ("web-2", "sudo systemctl reload php-fpm"),
    ("web-1", f"{ARTISAN} octane:stop"),
    ("web-2", f"{ARTISAN} octane:stop"),
    ("console", f"{ARTISAN} migrate:rollback --path=database/migrations/contract --force"),
]
CONTINUE = [("worker-1", f"{ARTISAN} horizon:continue"), ("worker-2", f"{ARTISAN} horizon:continue")]


def test_starts_mid_incident() -> None:
    sim, clock = make()
    s = sim.current()
    assert 0.015 < s.error_rate < 0.03
    assert all(v >= 500 for v in s.queues.values()), s.queues
    assert s.lag > 120
    before = dict(s.queues)
    advance(sim, clock, 60)
    after = sim.current()
    assert all(after.queues[q] > before[q] for q in before), "queues must be backing up"
    assert after.error_rate > s.error_rate * 0.98
    statuses = [sim.healthz().status for _ in range(40)]
    assert statuses.count(500) >= 30, "healthz fails during the incident"


def test_frozen_clock_freezes_and_seed_determines() -> None:
    sim, clock = make()
    first = sim.current()
    assert sim.current() == first  # the clock did not move: nothing happened
    twin, twin_clock = make()
    for s, c in ((sim, clock), (twin, twin_clock)):
        advance(s, c, 37)
        run(s, c, "worker-1", f"{ARTISAN} horizon:pause")
        advance(s, c, 12)
    assert sim.current() == twin.current()
    other, other_clock = make(seed=8)
    advance(other, other_clock, 49)
    assert other.current() != sim.current()


def test_recovers_after_the_runbook_in_order() -> None:
    sim, clock = make()
    for host, cmd in ROLLBACK_IN_ORDER + CONTINUE:
        status, out = run(sim, clock, host, cmd)
        assert status == 0, (host, cmd, out)
    for _ in range(600):
        advance(sim, clock, 1)
        if sim.recovered():
            break
    assert sim.recovered(), sim.current()
    assert sim.t < 400, "recovery should take a few simulated minutes"
    assert all(sim.healthz().status == 200 for _ in range(20))
    status, out = run(
        sim,
        clock,
        "console",
        "/var/www/academy/current/tools/preflight/compatibility_audit.sh --mode=post-rollback",
    )
    assert status == 0 and "0 drift finding(s)." in out, out


def test_no_recovery_while_horizon_is_never_continued() -> None:
    sim, clock = make()
    for host, cmd in ROLLBACK_IN_ORDER:
        assert run(sim, clock, host, cmd)[0] == 0
    advance(sim, clock, 900)
    s = sim.current()
    assert s.error_rate < 0.001, "the web side recovered"
    assert all(v > 1000 for v in s.queues.values()), s.queues
    assert s.lag > 60
    assert not sim.recovered()
    status, out = run(
        sim,
        clock,
        "console",
        "/var/www/academy/current/tools/preflight/compatibility_audit.sh --mode=post-rollback",
    )
    assert status == 1 and "[drift]   horizon: worker-1 paused, worker-2 paused" in out, out


def test_rollback_before_pause_makes_jobs_fail() -> None:
    paused, pc = make()
    reckless, rc = make()
    for host, cmd in ROLLBACK_IN_ORDER[:2]:
        run(paused, pc, host, cmd)
    run(paused, pc, "console", ROLLBACK_IN_ORDER[-1][1])
    run(reckless, rc, "console", ROLLBACK_IN_ORDER[-1][1])
    advance(paused, pc, 2)
    advance(reckless, rc, max(0.0, pc.now - rc.now))
    assert reckless.current().failed_jobs > paused.current().failed_jobs + 50
    assert reckless.current().error_rate > paused.current().error_rate + 0.002


def test_fpm_reload_without_the_flag_changes_nothing() -> None:
    sim, clock = make()
    assert run(sim, clock, "web-1", "sudo systemctl reload php-fpm")[0] == 0
    assert sim.hosts["web-1"].serving == "octane"
    # the flag edited but the config cache not rebuilt: still nothing
    run(
        sim,
        clock,
        "web-1",
        "sed -i 's/^OCTANE_ENABLED=.*/OCTANE_ENABLED=false/' /var/www/academy/current/.env",
    )
    run(sim, clock, "web-1", "sudo systemctl reload php-fpm")
    assert sim.hosts["web-1"].serving == "octane"
    run(sim, clock, "web-1", f"{ARTISAN} config:cache")
    status, out = run(sim, clock, "web-1", "systemctl reload php-fpm")
    assert status == 1 and "Interactive authentication required" in out  # no sudo
    run(sim, clock, "web-1", "sudo systemctl reload php-fpm")
    assert sim.hosts["web-1"].serving == "fpm"
    assert sim.hosts["web-2"].serving == "octane", "each host has its own state"


def test_octane_stopped_while_serving_answers_502() -> None:
    sim, clock = make()
    for h in ("web-1", "web-2"):
        assert run(sim, clock, h, f"{ARTISAN} octane:stop")[0] == 0
    assert {sim.healthz().status for _ in range(6)} == {502}
    advance(sim, clock, 120)
    assert sim.current().error_rate > 0.5
    status, out = run(sim, clock, "web-1", f"{ARTISAN} octane:stop")
    assert (status, out) == (1, "Swoole server is not running.")


def test_migrations_roll_back_once_then_find_the_expand_batch() -> None:
    sim, clock = make()
    status, out = run(
        sim, clock, "console", f"{ARTISAN} migrate:rollback --path=database/migrations/contract --pretend"
    )
    assert status == 1 and "Application In Production!" in out and "Command Canceled!" in out
    status, out = run(
        sim,
        clock,
        "console",
        f"{ARTISAN} migrate:rollback --path=database/migrations/contract --pretend --force",
    )
    assert status == 0 and "alter table `users` add `legacy_plan`" in out
    assert sim.contract_applied, "--pretend changes nothing"
    status, out = run(
        sim, clock, "console", f"{ARTISAN} migrate:rollback --path=database/migrations/contract --force"
    )
    assert status == 0
    assert out.count("Rolled back:  2026_11_24_") == 2
    assert not sim.contract_applied
    status, out = run(
        sim, clock, "console", f"{ARTISAN} migrate:rollback --path=database/migrations/contract --force"
    )
    assert status == 0 and "Rolling back" not in out
    assert out.splitlines() == [
        "Migration not found: 2026_11_20_090100_add_score_v2_to_feed_items_table",
        "Migration not found: 2026_11_20_090000_add_plan_tier_to_users_table",
    ]
    status, out = run(sim, clock, "console", f"{ARTISAN} migrate:status --path=database/migrations/contract")
    assert "| No   | 2026_11_24_070000_drop_legacy_plan_from_users_table |       |" in out


def test_shell_answers_like_a_host() -> None:
    sim, clock = make()
    assert run(sim, clock, "web-1", "frobnicate --now") == (
        127,
        "bash: line 1: frobnicate: command not found",
    )
    status, out = run(sim, clock, "web-1", f"{ARTISAN} octane:clear")
    assert status == 1 and 'Command "octane:clear" is not defined.' in out and "octane:stop" in out
    status, out = run(
        sim,
        clock,
        "worker-1",
        "ps -eo args | sed -n 's/.*[h]orizon:work .*--queue=\\([^ ]*\\).*/\\1/p' | sort | uniq -c | awk '{print $2, $1}'",
    )
    assert (status, out) == (0, "feed 6\nnotifications 4\nsearch-index 2")
    # without the [h] idiom the pattern also matches its own command line, as on a real host
    naive = "ps -eo args | sed -n 's/.*horizon:work .*--queue=\\([^ ]*\\).*/\\1/p' | sort | uniq -c"
    status, out = run(sim, clock, "worker-1", naive)
    assert status == 0 and "\\([^" in out and "feed" in out
    assert run(sim, clock, "web-1", "php artisan horizon:status") == (1, "Could not open input file: artisan")
    assert run(sim, clock, "web-1", "false || echo fallback") == (0, "fallback")
    assert run(sim, clock, "web-1", "false && echo never")[0] == 1
    status, out = run(
        sim,
        clock,
        "console",
        f"{ARTISAN} schema:dump && ls /var/www/academy/current/database/schema/*-schema.dump",
    )
    assert status == 0 and out.endswith("/var/www/academy/current/database/schema/mysql-schema.dump")
    assert run(sim, clock, "web-1", "ls /var/www/academy/current/database/schema/*-schema.dump")[0] == 2
    assert run(sim, clock, "web-1", "echo 'unterminated")[0] == 2


def _probes(sim: AcademySim, clock: FakeClock, n: int) -> list[int]:
    out = []
    for _ in range(n):
        advance(sim, clock, 5.0)  # the demo profile probes /healthz every few seconds
        out.append(sim.healthz().status)
    return out


def test_healthz_of_a_degraded_stack_does_not_flap_green() -> None:
    """While Octane is degraded (5xx in percents), '200 twice in a row' is a rare accident, not a coin flip,
    and the answers come in runs (a worker pool exhausted stays exhausted for a while)."""
    for seed in (1, 7, 42):
        sim, clock = make(seed)
        statuses = _probes(sim, clock, 400)
        assert sim.current().error_rate > 0.01
        pairs = sum(1 for a, b in itertools.pairwise(statuses) if a == b == 200)
        flips = sum(1 for a, b in itertools.pairwise(statuses) if (a == 200) != (b == 200))
        assert pairs <= 4, (seed, pairs, statuses[:60])
        assert flips <= 40, (seed, flips, statuses[:60])


def test_healthz_of_a_recovered_stack_is_steadily_green() -> None:
    sim, clock = make()
    for host, command in ROLLBACK_IN_ORDER:
        status, text = run(sim, clock, host, command)
        assert status == 0, (command, text)
    advance(sim, clock, 120)
    assert _probes(sim, clock, 100).count(200) == 100
