"""``php artisan ...`` on a demo host: Laravel 8, Horizon 5 and Octane 1 as they answer.

Output texts, exit codes and the order of effects follow the real commands
(Laravel writes its `error()` lines to stdout; Symfony's own errors, such as an
unknown command or option, go to stderr). Timings are simulated seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cockpit.demo.script import Ask, Out, Script, Wait
from cockpit.demo.sim import APP_DIR, MIGRATIONS, QUEUES, WORKER_HOSTS, AcademySim, Migration

BOOT = 0.3  # artisan start-up
_GLOBAL_FLAGS = {"-n", "--no-interaction", "-q", "--quiet", "--ansi", "--no-ansi", "-v", "-vv", "-vvv"}


@dataclass
class Call:
    sim: AcademySim
    host: str
    options: dict[str, list[str]]  # --name -> values ("" for flags)
    args: list[str]

    def flag(self, name: str) -> bool:
        return name in self.options

    def values(self, name: str) -> list[str]:
        return [v for v in self.options.get(name, []) if v]


Handler = Callable[[Call], Script]


def run(sim: AcademySim, host: str, argv: list[str]) -> Script:
    """``php artisan ARGV`` on ``host``."""
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    it = iter(argv)
    for a in it:
        if a in _GLOBAL_FLAGS:
            continue
        if a.startswith("--"):
            name, _, value = a.partition("=")
            options.setdefault(name, []).append(value)
        elif a.startswith("-") and len(a) > 1:
            options.setdefault(a, []).append("")
        else:
            positional.append(a)
    yield Wait(BOOT)
    if not positional:
        status = yield from _list(Call(sim, host, options, []))
        return status
    name, args = positional[0], positional[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        yield from _symfony_error(_not_defined(name))
        return 1
    allowed, handler = spec
    for opt in options:
        if opt not in allowed and opt not in ("--env",):
            yield from _symfony_error([f'The "{opt}" option does not exist.'])
            return 1
    status = yield from handler(Call(sim, host, options, args))
    return status


def _symfony_error(lines: list[str]) -> Iterator[Out]:
    width = max(len(ln) for ln in lines) + 4
    yield Out("", stderr=True)
    yield Out(" " * width, stderr=True)
    for ln in lines:
        yield Out(f"  {ln.ljust(width - 2)}", stderr=True)
    yield Out(" " * width, stderr=True)
    yield Out("", stderr=True)


def _not_defined(name: str) -> list[str]:
    ns = name.split(":", 1)[0]
    similar = sorted(c for c in COMMANDS if c.startswith(ns + ":"))
    lines = [f'Command "{name}" is not defined.']
    if similar:
        lines += ["", "Did you mean one of these?", *(f"    {c}" for c in similar)]
    return lines


def _production_confirm(call: Call) -> Script:
    """Laravel's ConfirmableTrait: in production, without --force, ask (cancelled unless "yes")."""
    env = call.sim.hosts[call.host].config.get("APP_ENV", "production")
    if env != "production" or call.flag("--force"):
        return True
    yield Out("**************************************")
    yield Out("*     Application In Production!     *")
    yield Out("**************************************")
    yield Out("")
    answer = yield Ask(" Do you really wish to run this command? (yes/no) [no]:\n > ")
    if answer is None:  # a terminal at end of input: Symfony's MissingInputException
        yield from _symfony_error(["Aborted."])
        return False
    if answer.strip().lower() in ("y", "yes"):
        return True
    yield Out("Command Canceled!")
    return False


# ---------------------------------------------------------------- horizon


def _horizon_pause(call: Call) -> Script:
    yield Wait(0.4)
    pid = call.sim.horizon_signal(call.host, "USR2")
    if pid is not None:
        yield Out(f"Sending USR2 Signal To Process: {pid}")
    return 0


def _horizon_continue(call: Call) -> Script:
    yield Wait(0.4)
    pid = call.sim.horizon_signal(call.host, "CONT")
    if pid is not None:
        yield Out(f"Sending CONT Signal To Process: {pid}")
    return 0


def _horizon_status(call: Call) -> Script:
    yield Wait(0.15)
    state = call.sim.horizon_status()
    yield Out(f"Horizon is {state}.")
    return {"running": 0, "paused": 1, "inactive": 2}[state]


# ---------------------------------------------------------------- octane


def _octane_status(call: Call) -> Script:
    yield Wait(0.1)
    running = call.sim.hosts[call.host].octane_running
    yield Out(f"Octane server is {'running' if running else 'not running'}.")
    return 0 if running else 1


def _octane_stop(call: Call) -> Script:
    host = call.sim.hosts[call.host]
    if not host.octane_running:
        yield Out("Swoole server is not running.")
        return 1
    yield Out("Stopping server...")
    yield Wait(1.8)  # workers finish their requests, then the master exits
    call.sim.octane_stop(call.host)
    return 0


def _octane_reload(call: Call) -> Script:
    if not call.sim.hosts[call.host].octane_running:
        yield Out("Octane server is not running.")
        return 1
    yield Out("Reloading workers...")
    yield Wait(0.8)
    return 0


def _octane_start(call: Call) -> Script:
    host = call.sim.hosts[call.host]
    if host.octane_running:
        yield Out("Server is already running.")
        return 1
    yield Out("Starting Octane server in the foreground is not simulated: the process supervisor owns it.")
    return 1


# ---------------------------------------------------------------- migrations


def _paths(call: Call) -> list[str]:
    return [p.rstrip("/") for p in call.values("--path")] or ["database/migrations"]


def _files(call: Call) -> dict[str, Migration]:
    host = call.sim.hosts[call.host]
    paths = _paths(call)
    if not host.migration_files:
        return {}
    return {m.name: m for m in MIGRATIONS if m.path in paths}


def _migrate_status(call: Call) -> Script:
    yield Wait(0.3)
    files = _files(call)
    if not files:
        yield Out("No migrations found.")
        return 0
    rows = [
        ("Yes" if call.sim.batches.get(n) else "No", n, str(call.sim.batches.get(n) or ""))
        for n in sorted(files)
    ]
    head = ("Ran?", "Migration", "Batch")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def row(cells: tuple[str, str, str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    yield Out(rule)
    yield Out(row(head))
    yield Out(rule)
    for r in rows:
        yield Out(row(r))
    yield Out(rule)
    return 0


def _migrate_rollback(call: Call) -> Script:
    confirmed = yield from _production_confirm(call)
    if not confirmed:
        return 1
    sim = call.sim
    batch = sim.last_batch()
    if not batch:
        yield Out("Nothing to rollback.")
        return 0
    files = _files(call)
    pretend = call.flag("--pretend")
    if not pretend:
        sim.begin_migration()
    try:
        for m in batch:
            if m.name not in files:
                yield Out(f"Migration not found: {m.name}")
                continue
            if pretend:
                yield Wait(0.05)
                for sql in m.down_sql:
                    yield Out(f"{m.cls}: {sql}")
                continue
            yield Out(f"Rolling back: {m.name}")
            yield Wait(m.duration)
            sim.roll_back(m)
            yield Out(f"Rolled back:  {m.name} ({m.duration * 1000 * 0.97:.2f}ms)")
    finally:
        if not pretend:
            sim.end_migration()
    return 0


def _migrate(call: Call) -> Script:
    confirmed = yield from _production_confirm(call)
    if not confirmed:
        return 1
    sim = call.sim
    pending = [
        m for m in sorted(_files(call).values(), key=lambda m: m.name) if sim.batches.get(m.name) is None
    ]
    if not pending:
        yield Out("Nothing to migrate.")
        return 0
    batch = max((b for b in sim.batches.values() if b is not None), default=0) + 1
    if not call.flag("--pretend"):
        sim.begin_migration()
    try:
        for m in pending:
            if call.flag("--pretend"):
                yield Out(f"{m.cls}: (the up() SQL of {m.name})")
                continue
            yield Out(f"Migrating: {m.name}")
            yield Wait(m.duration)
            sim.sync()
            sim.batches[m.name] = batch
            sim.note(f"migrated {m.name}")
            yield Out(f"Migrated:  {m.name} ({m.duration * 1000 * 1.03:.2f}ms)")
    finally:
        if not call.flag("--pretend"):
            sim.end_migration()
    return 0


def _schema_dump(call: Call) -> Script:
    yield Wait(3.5)
    sim = call.sim
    host = sim.hosts[call.host]
    host.files[f"{APP_DIR}/database/schema/mysql-schema.dump"] = "-- MySQL dump 10.13 (simulated)\n"
    sim.schema_dumped = True
    yield Out("Database schema dumped successfully.")
    if call.flag("--prune"):
        host.migration_files = False
        yield Out("Migrations pruned successfully.")
    return 0


# ---------------------------------------------------------------- caches


def _optimize_clear(call: Call) -> Script:
    sim = call.sim
    for line, secs in (
        ("Cached events cleared!", 0.05),
        ("Compiled views cleared!", 0.2),
        ("Application cache cleared!", 0.3),
        ("Route cache cleared!", 0.05),
        ("Configuration cache cleared!", 0.05),
        ("Compiled services and packages files removed!", 0.05),
    ):
        yield Wait(secs)
        if line.startswith("Application"):
            sim.app_cache(warm=False)
        if line.startswith("Configuration"):
            sim.config_cache(call.host, cached=False)
        yield Out(line)
    yield Out("Caches cleared successfully!")
    return 0


def _config_cache(call: Call) -> Script:
    yield Wait(0.2)
    call.sim.config_cache(call.host, cached=False)
    yield Out("Configuration cache cleared!")
    yield Wait(0.3)
    call.sim.config_cache(call.host, cached=True)
    yield Out("Configuration cached successfully!")
    return 0


def _config_clear(call: Call) -> Script:
    yield Wait(0.1)
    call.sim.config_cache(call.host, cached=False)
    yield Out("Configuration cache cleared!")
    return 0


def _cache_clear(call: Call) -> Script:
    yield Wait(0.3)
    call.sim.app_cache(warm=False)
    yield Out("Application cache cleared!")
    return 0


def _communities_cache(call: Call) -> Script:
    if not call.flag("--all") and not call.args:
        yield Out("Give community ids, or --all.")
        return 1
    total = 1284 if call.flag("--all") else len(call.args)
    yield Out(f"Caching {total:,} communities (feeds, member counts, permissions)...")
    step = max(1, total // 8)
    done = 0
    while done < total:
        yield Wait(0.75 * step / 160)
        done = min(total, done + step)
        bar = "=" * (28 * done // total)
        yield Out(f" {done:>4}/{total} [{bar.ljust(28, '-')}] {100 * done // total:>3}%")
    if call.flag("--all"):
        call.sim.app_cache(warm=True)
    yield Out(f"Cached {total:,} communities in {0.75 * total / 160:.1f}s.")
    return 0


def _simple(lines: tuple[str, ...], secs: float = 0.2) -> Handler:
    def handler(_call: Call) -> Script:
        yield Wait(secs)
        for ln in lines:
            yield Out(ln)
        return 0

    return handler


def _list(_call: Call) -> Script:
    yield Out("Laravel Framework 8.83.27")
    yield Out("")
    yield Out("Available commands:")
    for name in sorted(COMMANDS):
        yield Out(f"  {name}")
    return 0


COMMANDS: dict[str, tuple[frozenset[str], Handler]] = {
    "list": (frozenset(), _list),
    "horizon:pause": (frozenset(), _horizon_pause),
    "horizon:continue": (frozenset(), _horizon_continue),
    "horizon:status": (frozenset(), _horizon_status),
    "octane:status": (frozenset({"--server"}), _octane_status),
    "octane:stop": (frozenset({"--server"}), _octane_stop),
    "octane:reload": (frozenset({"--server"}), _octane_reload),
    "octane:start": (frozenset({"--server", "--host", "--port", "--workers"}), _octane_start),
    "migrate": (
        frozenset({"--path", "--force", "--pretend", "--step", "--database", "--realpath"}),
        _migrate,
    ),
    "migrate:status": (frozenset({"--path", "--database", "--realpath"}), _migrate_status),
    "migrate:rollback": (
        frozenset({"--path", "--force", "--pretend", "--step", "--database", "--realpath"}),
        _migrate_rollback,
    ),
    "schema:dump": (frozenset({"--prune", "--database", "--path"}), _schema_dump),
    "optimize:clear": (frozenset(), _optimize_clear),
    "config:cache": (frozenset(), _config_cache),
    "config:clear": (frozenset(), _config_clear),
    "cache:clear": (frozenset({"--tags"}), _cache_clear),
    "route:clear": (frozenset(), _simple(("Route cache cleared!",))),
    "view:clear": (frozenset(), _simple(("Compiled views cleared!",))),
    "communities:cache": (frozenset({"--all"}), _communities_cache),
    "down": (
        frozenset({"--secret", "--render", "--retry", "--refresh"}),
        _simple(("Application is now in maintenance mode.",)),
    ),
    "up": (frozenset(), _simple(("Application is now live.",))),
}


# ---------------------------------------------------------------- tools/preflight/compatibility_audit.sh


def audit(sim: AcademySim, mode: str) -> Script:
    """The post-rollback config-drift audit, as the repository's script reports it."""
    if mode not in ("pre-release", "post-rollback"):
        yield Out(f"compatibility_audit.sh: unknown mode '{mode}' (pre-release, post-rollback)", stderr=True)
        return 2
    rollback = mode == "post-rollback"
    yield Out(f"compatibility_audit.sh --mode={mode}: auditing web-1 web-2 worker-1 worker-2 console")
    drift = 0

    def line(ok: bool, text: str) -> Out:
        nonlocal drift
        drift += 0 if ok else 1
        return Out(f"[{'ok' if ok else 'drift'}]{' ' * (6 if ok else 3)}{text}")

    for name in ("web-1", "web-2"):
        yield Wait(0.6)
        h = sim.hosts[name]
        want = "false" if rollback else "true"
        flag = h.env.get("OCTANE_ENABLED", "(missing)")
        yield line(flag == want, f"{name}: .env OCTANE_ENABLED={flag} (expected {want})")
        cached = h.config_cache.get("OCTANE_ENABLED") if h.config_cache is not None else None
        yield line(cached in (None, flag), f"{name}: config cache OCTANE_ENABLED={cached or '(not cached)'}")
        serving = "fpm" if rollback else "octane"
        yield line(h.serving == serving, f"{name}: traffic served by {h.serving} (expected {serving})")
        yield line(
            h.octane_running != rollback, f"{name}: octane {'running' if h.octane_running else 'stopped'}"
        )
    yield Wait(0.8)
    contract = [m.name for m in MIGRATIONS if m.path.endswith("contract") and sim.batches.get(m.name)]
    yield line(
        not contract if rollback else bool(contract),
        f"database: contract migrations applied: {len(contract)}",
    )
    masters = {n: sim.hosts[n].horizon for n in WORKER_HOSTS}
    yield line(
        all(s == "running" for s in masters.values()),
        "horizon: " + ", ".join(f"{n} {s}" for n, s in masters.items()),
    )
    snap = sim.current()
    yield line(
        all(snap.queues[q] < 100 for q in QUEUES),
        "queues: " + ", ".join(f"{q}={int(snap.queues[q])}" for q in QUEUES),
    )
    yield Out(f"{drift} drift finding(s).")
    return 1 if drift else 0
