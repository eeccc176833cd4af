"""`cockpit status` through the real CLI (a subprocess) against real Prometheus, HTTP and a dead port."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.support.exporter import Exporter
from tests.support.httpstub import HttpStub
from tests.support.prometheus import TestPrometheus

TOKEN = "status-t0ken-abcdef-123"


def write_profile(tmp_path: Path, prom_url: str, blue_url: str, extra: str = "") -> Path:
    path = tmp_path / "status.toml"
    path.write_text(f'''
[cockpit]
name = "status-test"
environment = "drill"
refresh = "200ms"

[sources.prom]
kind = "prometheus"
url = "{prom_url}"
headers = {{ Authorization = "Bearer ${{env:T_STATUS_TOKEN}}" }}
timeout = "2s"

[sources.blue]
kind = "http"
url = "{blue_url}"
headers = {{ Authorization = "Bearer ${{env:T_STATUS_TOKEN}}" }}
timeout = "1s"

[[signal]]
id = "queues"
source = "prom"
query = 'sum by (queue) (s1_queue_depth)'

[[signal]]
id = "healthz"
source = "blue"
field = "status"

[[check]]
signal = "queues"
title = "Queue depth < 100"
condition = "< 100"

[[check]]
signal = "healthz"
title = "/healthz 200 twice"
condition = "== 200"
consecutive = 2
{extra}''')
    return path


def status(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "T_STATUS_TOKEN": TOKEN, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "cockpit", "status", "--profile", str(profile), *args],
        capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False,
    )


def assert_clean(r: subprocess.CompletedProcess[str]) -> None:
    out = r.stdout + r.stderr
    assert TOKEN not in out
    assert "Traceback" not in out


def test_all_ok_then_failing_json_and_table(exporter: Exporter, prom: TestPrometheus, stub: HttpStub,
                                            tmp_path: Path):
    for q in ("feed", "notifications"):
        exporter.set("s1_queue_depth", 5, queue=q)
    prom.wait_for("count(s1_queue_depth) == 2")
    # the token goes to the real Prometheus too (it ignores it); the stub lets us see what arrived
    profile = write_profile(tmp_path, prom.url, stub.url("/healthz"))

    r = status(profile, "--json")
    assert_clean(r)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert {s["id"]: s["values"] for s in doc["signals"]} == {
        "queues": {"feed": 5, "notifications": 5}, "healthz": {"": 200},
    }
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["healthz"]["status"] == "ok" and checks["healthz"]["passes"] == 2  # sampled twice
    assert checks["queues"]["status"] == "ok"
    assert stub.count("/healthz") >= 2
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, h in stub.requests)

    exporter.set("s1_queue_depth", 312, queue="feed")
    prom.wait_for("s1_queue_depth > 300")
    r = status(profile)
    assert_clean(r)
    assert r.returncode == 1
    assert "\x1b[" not in r.stdout  # NO_COLOR, and not a tty anyway
    assert "✘ Queue depth < 100  [failing] feed=312 (needs < 100)" in r.stdout
    assert "✔ /healthz 200 twice  [ok]" in r.stdout


def test_dead_and_broken_sources_are_reported_not_raised(stub: HttpStub, closed_port: int, tmp_path: Path):
    stub.set(status=400, body=json.dumps(
        {"status": "error", "errorType": "bad_data", "error": f"parse error; token {TOKEN}"}).encode())
    profile = write_profile(tmp_path, stub.url(), f"http://127.0.0.1:{closed_port}/healthz")
    r = status(profile, "--json")
    assert_clean(r)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["healthz"]["status"] == "unknown"
    assert checks["healthz"]["reason"].endswith(": connection refused")
    assert checks["queues"]["status"] == "unknown"
    assert "bad_data: parse error; token [redacted]" in checks["queues"]["reason"]
    sig = {s["id"]: s for s in doc["signals"]}
    assert sig["healthz"]["ok"] is False and sig["healthz"]["error"] == "connection refused"

    r = status(profile)
    assert_clean(r)
    assert r.returncode == 1 and "? /healthz 200 twice  [unknown] stale since" in r.stdout


def test_bad_profile_exits_2(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[cockpit]\nname = "x"\nenvironment = "drill"\n\n[[check]]\nsignal = "nope"\ncondition = "<<"\n')
    r = status(bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and f"{bad}:" in r.stderr
    missing = status(tmp_path / "missing.toml")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_ssh_source_and_colour_on_a_tty(tmp_path: Path):
    import pty

    from tests.support.sshd import running_sshd

    with running_sshd(tmp_path / "sshd", {"worker-1": "127.0.0.1"}) as sshd:
        profile = tmp_path / "ssh.toml"
        profile.write_text(f'''
[cockpit]
name = "ssh-status"
environment = "drill"

[ssh]
config = "{sshd.ssh_config}"
known_hosts = "{sshd.known_hosts}"

[hosts]
workers = ["worker-1"]

[sources.redis]
kind = "ssh"
hosts = "workers"
timeout = "5s"

[[signal]]
id = "depth"
source = "redis"
command = "printf 'feed 12\\nnotifications 0\\n'"

[[check]]
signal = "depth"
title = "Queues < 100"
condition = "< 100"
''')
        r = status(profile, "--json")
        assert_clean(r)
        assert r.returncode == 0, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert doc["signals"][0]["values"] == {"feed": 12, "notifications": 0}

        # on a terminal, without NO_COLOR: coloured symbols
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "status", "--profile", str(profile)],
            stdout=follower, stderr=subprocess.PIPE, cwd=REPO, env=env,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.wait(timeout=60) == 0
        shown = b"".join(chunks).decode()
        assert "\x1b[32m✔\x1b[0m Queues < 100" in shown


def _no_nan(token: str) -> float:
    raise AssertionError(f"non-standard JSON number {token} in status --json")


def test_json_writes_non_finite_values_as_null_with_a_reason_and_agrees_with_the_table(
        exporter: Exporter, prom: TestPrometheus, stub: HttpStub, tmp_path: Path):
    exporter.set("s2_ratio", -math.inf)
    prom.wait_for("s2_ratio")
    extra = '''
[[signal]]
id = "ratio"
source = "prom"
query = "s2_ratio"

[[check]]
signal = "ratio"
title = "ratio < 0.001"
condition = "< 0.001"
'''
    for q in ("feed", "notifications"):
        exporter.set("s1_queue_depth", 5, queue=q)
    profile = write_profile(tmp_path, prom.url, stub.url("/healthz"), extra)
    r = status(profile, "--json")
    assert_clean(r)
    assert r.returncode == 1
    doc = json.loads(r.stdout, parse_constant=_no_nan)
    assert doc["schema"] == 1
    sig = next(s for s in doc["signals"] if s["id"] == "ratio")
    assert sig["values"] == {"": None} and sig["nulls"] == {"": "-Inf"} and sig["fresh"] is True
    assert 0 <= sig["age"] <= sig["max_age"] and sig["sample_ts"] <= doc["ts"]
    check = next(c for c in doc["checks"] if c["id"] == "ratio")
    assert check["status"] == "failing" and check["values"] == {"": None} and check["nulls"] == {"": "-Inf"}
    assert check["evidence"]["query"] == "s2_ratio" and check["evidence"]["series"][0]["note"] == "-Inf"
    table = status(profile)
    assert "✘ ratio < 0.001  [failing] -Inf (needs < 0.001; NaN and ±Inf never pass)" in table.stdout
    assert re.search(r"ratio \(prom\) +-Inf \(age \d", table.stdout), table.stdout
