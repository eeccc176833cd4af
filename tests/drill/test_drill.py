"""The rollback drill, end to end, against the real loopback stack.

The stack comes up with the bad release deployed (5xx well above 0.1 %). The whole runbook is
then fired through the headless CLI (`cockpit run STEP`), each step's real effect is checked
where it lands (sqlite, Redis, .env, bootstrap/cache, the PHP servers), every validation check
must turn green from real Prometheus data (`cockpit status`), and the journal's timeline
(`cockpit report`) gives the drill's RTO.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.profile.load import load_profile
from tests.drill.conftest import SlackReceiver
from tests.drill.procs import wait_until
from tests.drill.stack import REPO, Stack, StackError, StackInfo, prom_query

pytestmark = [pytest.mark.drill, pytest.mark.timeout(420)]

PREPARE = ("clear-caches", "warm-communities", "schema-dump", "horizon-scale")
ROLLBACK = ("announce-start", "horizon-pause", "fpm-flag", "fpm-reload", "octane-stop",
            "migrate-rollback", "horizon-continue")


def cockpit(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False,
                          stdin=subprocess.DEVNULL)


def run_step(info: StackInfo, step: str, *extra: str, env: dict[str, str] | None = None,
             expect: int = 0) -> str:
    r = cockpit("run", step, "--profile", info.profile, *extra, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == expect, f"cockpit run {step} exited {r.returncode}, expected {expect}:\n{out}"
    return out


def redis(info: StackInfo, *args: str) -> bytes:
    """One command in Redis' wire protocol (RESP); returns the raw reply line."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", info.redis_port), timeout=2) as s:
        s.sendall(payload.encode())
        return s.recv(4096).split(b"\r\n")[0]


def db(info: StackInfo, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(info.db, timeout=5) as conn:
        return conn.execute(sql).fetchall()


def prom_value(info: StackInfo, query: str) -> float | None:
    result = prom_query(info.prom_url, query)
    return float(result[0]["value"][1]) if result else None  # type: ignore[index]


def http_status(info: StackInfo, host: str, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(info.url(host, path), timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def status_json(info: StackInfo) -> tuple[int, dict[str, object]]:
    r = cockpit("status", "--profile", info.profile, "--json")
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        pytest.fail(f"cockpit status --json printed no JSON (exit {r.returncode}):\n{r.stdout}{r.stderr}")


def test_rollback_drill(drill_incident: StackInfo, slack_receiver: SlackReceiver) -> None:
    info = drill_incident
    env = {"SLACK_WEBHOOK_URL": slack_receiver.url}
    contract = "2026_06_01_000100_drop_title_from_courses"
    expand = "2026_06_01_000000_add_display_title_to_courses"

    # -- the incident, from real Prometheus data (the fixture waited for 5xx > 0.1 %) --------
    code, status = status_json(info)
    assert code == 1
    checks = {c["id"]: c for c in status["checks"]}  # type: ignore[union-attr]
    assert checks["http_5xx"]["status"] == "failing", checks["http_5xx"]
    assert http_status(info, "web-1", "/api/courses") == 500  # the contract dropped courses.title

    # -- prepare -----------------------------------------------------------------------------
    for host in info.web:
        assert (info.host_dir(host) / "bootstrap/cache/config.php").exists()
    run_step(info, "clear-caches", "--yes")
    for host in info.web:  # optimize:clear on every web host removed the compiled config
        assert not (info.host_dir(host) / "bootstrap/cache/config.php").exists()
    # one incident, one journal: this headless run sees clear-caches (run a moment ago) as done
    assert "Cached 5 communities." in run_step(info, "warm-communities", "--yes")
    run_step(info, "schema-dump", "--yes")
    assert "CREATE TABLE" in (info.host_dir("console") / "database/schema/drill-schema.dump").read_text()
    assert not (info.host_dir("console") / "database/schema/sqlite-schema.dump").exists()
    run_step(info, "horizon-scale", "--yes")

    # -- rollback ----------------------------------------------------------------------------
    started = time.monotonic()
    run_step(info, "announce-start", "--yes", env=env)
    assert len(slack_receiver.bodies) == 1 and "started" in str(slack_receiver.bodies[0]["text"])

    out = run_step(info, "horizon-pause", "--yes")
    assert "Horizon is paused." in out
    assert redis(info, "EXISTS", "laravel_database_horizon:paused:worker-1") == b":1"
    # the workers honour the pause: jobs dispatched by real traffic pile up in the queues
    wait_until(lambda: (prom_value(info, 'min(horizon_queue_depth)') or 0) > 0, 20,
               "jobs accumulating while Horizon is paused")

    run_step(info, "fpm-flag", "--yes")
    for host in info.web:
        assert "OCTANE_ENABLED=false" in (info.host_dir(host) / ".env").read_text().splitlines()
    pids_before = {h: (Path(info.run_dir) / "pids" / f"php-{h}.pid").read_text() for h in info.web}
    run_step(info, "fpm-reload", "--yes")
    for host in info.web:  # the FPM stand-in really restarted, and serves again
        assert (Path(info.run_dir) / "pids" / f"php-{host}.pid").read_text() != pids_before[host]
        wait_until(lambda h=host: http_status(info, h, "/healthz") == 200, 15, f"{host} serving after reload")
    run_step(info, "octane-stop", "--yes")
    assert redis(info, "EXISTS", "laravel_database_octane:server:web-1") == b":0"

    # destructive: the profile's preview (migrate:status + --pretend) shows the SQL and changes
    # nothing; without the typed confirmation the step is refused and nothing changes either
    profile = load_profile(info.profile)
    preview = ssh(info, "console", profile.expand(profile.step("migrate-rollback").preview or ""))
    assert preview.returncode == 0, preview.stderr
    assert contract in preview.stdout and 'add column "title"' in preview.stdout
    out = run_step(info, "migrate-rollback", "--yes", expect=3)
    assert db(info, f"select count(*) from migrations where migration = '{contract}'") == [(1,)]
    assert "title" not in {row[1] for row in db(info, "pragma table_info(courses)")}
    out = run_step(info, "migrate-rollback", "--confirm", "drill")
    assert f"Rolled back:  {contract}" in out
    assert db(info, f"select batch from migrations where migration = '{contract}'") == []
    assert db(info, f"select count(*) from migrations where migration = '{expand}'") == [(1,)]  # expand kept
    columns = {row[1] for row in db(info, "pragma table_info(courses)")}
    assert {"title", "display_title"} <= columns
    assert db(info, "select title from courses where slug = 'queues-101'") == [("Queues 101",)]  # no data lost

    run_step(info, "horizon-continue", "--yes")
    assert redis(info, "EXISTS", "laravel_database_horizon:paused:worker-1") == b":0"

    # -- validation: every check green from real data ----------------------------------------
    last: dict[str, object] = {}

    def all_green() -> bool:
        nonlocal last
        code, last = status_json(info)
        return code == 0

    try:
        wait_until(all_green, 120, "cockpit status: every check green", interval=1.0)
    except TimeoutError:
        pytest.fail(f"checks not green: {json.dumps(last.get('checks'), indent=1)}")
    assert prom_value(info, 'max(http_5xx_rate{stack="blue"})') < 0.001  # type: ignore[operator]
    for host in info.web:
        assert http_status(info, host, "/api/courses") == 200

    run_step(info, "announce-end", "--yes", env=env)
    wall = time.monotonic() - started
    assert len(slack_receiver.bodies) == 2 and "ended" in str(slack_receiver.bodies[1]["text"])

    # -- the journal's timeline --------------------------------------------------------------
    journals = sorted((Path(os.environ["XDG_STATE_HOME"]) / "cockpit" / "journals").glob("*.jsonl"),
                      key=lambda p: p.stat().st_mtime)
    rollback_journal = next(p for p in reversed(journals) if '"rollback_start"' in p.read_text())
    assert len(journals) == 1, f"one incident, one journal: {journals}"
    r = cockpit("report", str(rollback_journal), "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [s["step"] for s in report["steps"] if s["state"] == "ok"] == [*PREPARE, *ROLLBACK, "announce-end"]
    types = [e["type"] for e in report["timeline"]]
    assert types.index("rollback_start") < types.index("rollback_end")
    rto = report["rto"]
    assert rto["within_budget"] is True and 0 < rto["elapsed"] <= wall + 1
    assert slack_receiver.url not in r.stdout and "drillsecret" not in rollback_journal.read_text()
    # #16: the RCA summary and the recordings of every host's output, beside the journal
    sm = report["summary"]
    assert sm["rollback_started"] == rto["started"] and sm["rto"]["within_budget"] is True
    assert sm["overrides"] == [] and sm["never_run"] is not None and "compat-audit" in sm["never_run"]
    for host in info.web:
        runs = sm["hosts"][host]
        assert runs and all(run["recording"] for run in runs), runs
        for run in runs:
            cast = (rollback_journal.parent / run["recording"]).read_text().splitlines()
            assert json.loads(cast[0])["version"] == 2 and all(json.loads(x)[1] == "o" for x in cast[1:])
            assert "drillsecret" not in "".join(cast)

    # -- post-rollback: the drift audit passes on every web host ----------------------------
    # (after the rollback's end, the same journal: announce-end counts as done)
    out = run_step(info, "compat-audit", "--yes")
    assert out.count("no drift") == len(info.web), out
    after = [json.loads(line) for line in rollback_journal.read_text().splitlines()]
    assert any(e.get("step") == "compat-audit" and e["type"] == "step_end" for e in after), \
        "compat-audit should land in the same incident's journal"

    print(f"\ndrill RTO: {rto['elapsed']:.1f}s of {rto['budget']:.0f}s budget "
          f"(rollback start to end, from the journal); steps: {len(report['steps'])}")


def test_redeploy_breaks_it_again(drill_incident: StackInfo) -> None:
    """After a drill (rolled back), `redeploy` re-applies the contract in a new batch of its own,
    so the drill can be practised again without down/up."""
    info = drill_incident
    batches = dict(db(info, "select migration, batch from migrations"))  # type: ignore[arg-type]
    assert "2026_06_01_000100_drop_title_from_courses" in batches
    assert "title" not in {row[1] for row in db(info, "pragma table_info(courses)")}
    assert http_status(info, "web-2", "/api/courses") == 500
    assert "OCTANE_ENABLED=true" in (info.host_dir("web-2") / ".env").read_text().splitlines()
    assert redis(info, "EXISTS", "laravel_database_horizon:paused:worker-1") == b":0"


def ssh(info: StackInfo, host: str, command: str) -> subprocess.CompletedProcess[str]:
    """OpenSSH's client with the stack's config: strict host key checking, the test key only."""
    return subprocess.run(["ssh", "-F", info.ssh_config, "-o", "BatchMode=yes", host, command],
                          capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)


def test_every_host_lands_in_its_own_app(drill_stack: StackInfo) -> None:
    for host in drill_stack.addresses:
        r = ssh(drill_stack, host, 'echo "$ACADEMY_HOST $PWD"; cd "$ACADEMY_ROOT" && grep ^ACADEMY_HOST= .env')
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [host, str(Path.home()), f"ACADEMY_HOST={host}"]
    # horizon:status stand-in: no worker on console -> inactive, exit 2
    r = ssh(drill_stack, "console", 'cd "$ACADEMY_ROOT" && php artisan horizon:status')
    assert (r.returncode, r.stdout.strip()) == (2, "Horizon is inactive.")


def test_a_wrong_host_key_is_refused(drill_stack: StackInfo, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    other.write_text(f"[127.0.1.1]:{drill_stack.ssh_port} ssh-ed25519 {key}\n")
    r = subprocess.run(["ssh", "-F", drill_stack.ssh_config, "-o", f"UserKnownHostsFile={other}",
                        "-o", "BatchMode=yes", "web-1", "true"],
                       capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in r.stderr


def test_second_up_is_refused_while_running(drill_stack: StackInfo) -> None:
    with pytest.raises(StackError, match="already running"):
        Stack(Path(drill_stack.run_dir)).up()
    # and the running stack is untouched
    assert prom_query(drill_stack.prom_url, "up == 1")


def test_a_service_that_dies_at_start_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.drill.stack as stack_module
    from tests.drill.procs import leftovers

    monkeypatch.setattr(stack_module, "REDIS", "/bin/false")  # the first service: fails fast
    stack = Stack(tmp_path / "run")
    with pytest.raises(StackError, match="redis exited during start-up"):
        stack.up()
    assert leftovers(tmp_path / "run") == []


def test_stack_cli_on_an_empty_run_dir(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "tests.drill.stack", "status", "--run-dir", str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 1 and "nothing in" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "tests.drill.stack", "down", "--run-dir", str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0 and "drill stack down" in r.stdout
