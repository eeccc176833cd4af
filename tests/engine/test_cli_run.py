"""`cockpit run` and `cockpit report` through the real CLI in subprocesses, against a real sshd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.journal import read_journal
from cockpit.state import journals_dir
from tests.engine.conftest import REPO, cockpit, profile_text, wait_until

SECRET = "tok-9f8e7d6c5b4a"

STEPS = """
[[step]]
id = "mixed"
title = "Fails on web-2 only"
phase = "rollback"
hosts = "web"
confirm = "none"
command = "echo hello from $(echo $SSH_CONNECTION | cut -d' ' -f3); echo to-stderr >&2; case $SSH_CONNECTION in *127.0.1.2*) exit 3;; esac"

[[step]]
id = "slow"
title = "Long step"
phase = "rollback"
hosts = "console"
confirm = "none"
timeout = "60s"
command = "echo $$ > {marks}/slow.pid; echo sleeping; sleep 30; touch {marks}/slow-finished"

[[step]]
id = "leaky"
title = "Prints a secret"
phase = "validate"
hosts = "web"
confirm = "none"
command = "echo the token is {token}"
"""

EXTRA = """
[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9/"
headers = { Authorization = "Bearer ${env:PROM_TOKEN}" }
"""


@pytest.fixture
def cli_profile(sshd, tmp_path: Path, marker_dir: Path) -> Path:
    path = tmp_path / "drill.toml"
    text = profile_text(ssh=sshd, marker_dir=marker_dir, steps=STEPS, extra=EXTRA)
    path.write_text(text.replace("[vars]\n", f'[vars]\ntoken = "{SECRET}"\n'))
    return path


ENV = {"PROM_TOKEN": SECRET}


def _journal() -> Path:
    files = sorted(journals_dir().glob("*.jsonl"))
    assert len(files) == 1, files
    return files[0]


def test_run_ok_streams_host_prefixed_output(cli_profile: Path, marker_dir: Path) -> None:
    r = cockpit("run", "touch", "--profile", str(cli_profile), "--yes", env=ENV)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "web-1 | touched" in lines and "web-2 | touched" in lines
    assert any(line.startswith("web-1  ok") for line in lines)
    assert len(list(marker_dir.glob("touched-*"))) == 2


def test_run_partial_failure_exit_1(cli_profile: Path) -> None:
    r = cockpit("run", "mixed", "--profile", str(cli_profile), env=ENV)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "web-1 | hello from 127.0.1.1" in r.stdout and "web-2 | hello from 127.0.1.2" in r.stdout
    assert "web-2 | to-stderr" in r.stdout + r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines() if line.startswith("web-")
            and "|" not in line}
    assert rows["web-1"][1:3] == ["ok", "0"] and rows["web-2"][1:3] == ["failed", "3"]
    assert "mixed: partial" in r.stdout
    end = next(e for e in read_journal(_journal()) if e["type"] == "step_end")
    assert end["state"] == "partial"
    assert {h["host"]: h["exit_status"] for h in end["hosts"]} == {"web-1": 0, "web-2": 3}


def test_run_refusals_exit_3_and_usage_exit_2(cli_profile: Path, marker_dir: Path, tmp_path: Path) -> None:
    r = cockpit("run", "touch", "--profile", str(cli_profile), "--read-only", env=ENV)
    assert r.returncode == 3 and "refused: read-only" in r.stderr
    r = cockpit("run", "touch", "--profile", str(cli_profile), env=ENV)
    assert r.returncode == 3 and "--yes" in r.stderr
    r = cockpit("run", "destroy", "--profile", str(cli_profile), "--confirm", "production", "--override", env=ENV)
    assert r.returncode == 3 and "does not match" in r.stderr
    r = cockpit("run", "destroy", "--profile", str(cli_profile), "--confirm", "drill", env=ENV)
    assert r.returncode == 3 and "waiting for touch" in r.stderr
    assert list(marker_dir.iterdir()) == []
    r = cockpit("run", "nope", "--profile", str(cli_profile), env=ENV)
    assert r.returncode == 2 and "no step 'nope'" in r.stderr and "touch" in r.stderr
    r = cockpit("run", "touch", "--profile", str(cli_profile), "--yes", "--hosts", "web-9", env=ENV)
    assert r.returncode == 2 and "web-9" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[cockpit]\nname = 1\n")
    r = cockpit("run", "touch", "--profile", str(bad), "--yes")
    assert r.returncode == 2 and "bad.toml:" in r.stderr and "Traceback" not in r.stderr
    r = cockpit("run", "touch", "--profile", str(tmp_path / "missing.toml"), "--yes")
    assert r.returncode == 2 and "missing.toml" in r.stderr and "Traceback" not in r.stderr


def test_no_secret_in_journal_or_output(cli_profile: Path) -> None:
    r = cockpit("run", "leaky", "--profile", str(cli_profile), env=ENV)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert SECRET not in r.stdout + r.stderr
    assert "web-1 | the token is [redacted]" in r.stdout
    raw = _journal().read_text()
    assert SECRET not in raw
    start = next(e for e in read_journal(_journal()) if e["type"] == "step_start")
    assert start["command"] == "echo the token is [redacted]"
    report = cockpit("report", str(_journal()))
    assert report.returncode == 0 and SECRET not in report.stdout


def _kill_remote(marker_dir: Path) -> None:
    pid_file = marker_dir / "slow.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def test_journal_survives_kill_9_mid_step(cli_profile: Path, marker_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "slow", "--profile", str(cli_profile)],
                            cwd=REPO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        path = wait_until(lambda: next(iter(journals_dir().glob("*.jsonl")), None), what="the journal file")
        wait_until(lambda: '"type":"step_start"' in path.read_text(), what="step_start in the journal")
        wait_until((marker_dir / "slow.pid").exists, what="the remote command to start")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()   # type: ignore[union-attr]
        proc.stderr.close()   # type: ignore[union-attr]
        _kill_remote(marker_dir)
    entries = read_journal(path)
    types = [e["type"] for e in entries]
    assert types[:3] == ["session_start", "rollback_start", "step_start"] or types[:2] == ["session_start", "step_start"]
    assert "step_start" in types and "step_end" not in types and "session_end" not in types
    start = entries[types.index("step_start")]
    assert start["step"] == "slow" and start["hosts"] == ["web-1"] and "sleep 30" in start["command"]
    # a half-written last line (a crash mid-write) is tolerated by the reader and the report
    with path.open("ab") as f:
        f.write(b'{"ts": 17, "type": "step_end", "step": "sl')
    warnings: list[str] = []
    assert read_journal(path, on_warning=warnings.append) == entries
    assert warnings and "cut" in warnings[0]
    report = cockpit("report", str(path))
    assert report.returncode == 0 and "`slow`" in report.stdout and "no end recorded" in report.stdout
    assert "last line is cut" in report.stderr
    # the next driver resumes it: the cut line is dropped and the step marked interrupted
    r = cockpit("run", "prepare", "--profile", str(cli_profile), env=ENV)
    assert r.returncode == 0, r.stderr
    assert "resumed session" in r.stderr
    after = read_journal(path)
    interrupted = [e for e in after if e["type"] == "step_end" and e["step"] == "slow"]
    assert interrupted and interrupted[0]["state"] == "cancelled"
    report = cockpit("report", str(path))
    assert "after a crash: session resumed" in report.stdout and "interrupted" in report.stdout
    assert report.stderr == ""        # repaired on resume: nothing cut any more


def test_ctrl_c_cancels_on_every_host_and_is_journalled(cli_profile: Path, marker_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "slow", "--profile", str(cli_profile)],
                            cwd=REPO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_until((marker_dir / "slow.pid").exists, what="the remote command to start")
        remote_pid = int(wait_until(lambda: (marker_dir / "slow.pid").read_text().strip(), what="the pid"))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        _kill_remote(marker_dir)
    assert proc.returncode == 130, (out, err)
    assert "cancelled" in out and "Traceback" not in err
    wait_until(lambda: not Path(f"/proc/{remote_pid}").exists(), what="the remote command to be stopped")
    assert not (marker_dir / "slow-finished").exists()
    entries = read_journal(_journal())
    end = next(e for e in entries if e["type"] == "step_end")
    assert end["state"] == "cancelled" and end["hosts"][0]["state"] == "cancelled"
    assert entries[-1]["type"] == "session_end"


def test_report_md_and_json_on_a_real_journal(cli_profile: Path) -> None:
    assert cockpit("run", "touch", "--profile", str(cli_profile), "--yes", env=ENV).returncode == 0
    assert cockpit("run", "destroy", "--profile", str(cli_profile), "--confirm", "nope", env=ENV).returncode == 3
    assert cockpit("run", "destroy", "--profile", str(cli_profile), "--confirm", "drill", env=ENV).returncode == 0
    assert cockpit("run", "mixed", "--profile", str(cli_profile), env=ENV).returncode == 1
    assert cockpit("run", "finish", "--profile", str(cli_profile), env=ENV).returncode == 0
    path = _journal()
    md = cockpit("report", str(path))
    assert md.returncode == 0, md.stderr
    text = md.stdout
    assert text.startswith("## Rollback timeline — engine-test (drill)")
    assert "of 15m00s — **met**" in text
    assert "| Step | Started | Ended | Duration | Result | Hosts |" in text
    assert "| `touch`" in text and "web-1: ok (exit 0); web-2: ok (exit 0)" in text
    assert "web-2: failed (exit 3)" in text
    assert "refused `destroy`: confirmation 'nope' does not match" in text
    assert "### Timeline (UTC)" in text and "**rollback started**" in text and "**rollback ended**" in text
    js = cockpit("report", str(path), "--format", "json")
    assert js.returncode == 0
    data = json.loads(js.stdout)
    assert data["rto"]["within_budget"] is True and data["rto"]["budget"] == 900
    assert [s["step"] for s in data["steps"]] == ["touch", "destroy", "mixed", "finish"]
    assert [s["state"] for s in data["steps"]] == ["ok", "ok", "partial", "ok"]
    assert data["guard"][0]["type"] == "guard_refused"
    assert data["timeline"][0]["type"] == "session_start"


def test_report_bad_input(tmp_path: Path) -> None:
    r = cockpit("report", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2 and "none.jsonl" in r.stderr and "Traceback" not in r.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\x00\x01garbage\n")
    r = cockpit("report", str(junk))
    assert r.returncode == 2 and "no journal entries" in r.stderr and "Traceback" not in r.stderr


def test_run_refused_while_another_driver_holds_the_lock(cli_profile: Path, marker_dir: Path) -> None:
    from cockpit.lock import DriverLock
    from cockpit.profile.load import load_profile

    lock = DriverLock.for_profile(load_profile(cli_profile))
    holder = lock.acquire()
    try:
        r = cockpit("run", "touch", "--profile", str(cli_profile), "--yes", env=ENV)
    finally:
        lock.release()
    assert r.returncode == 3
    assert f"refused: not the driver: locked by {holder.user}@{holder.host} (pid {holder.pid}) since " in r.stderr
    assert list(marker_dir.iterdir()) == [] and not list(journals_dir().glob("*.jsonl"))


def test_unreachable_host_is_exit_1_with_a_reason(tmp_path: Path) -> None:
    from tests.support.sshd import free_port

    port = free_port("127.0.1.9")      # nothing listens there
    path = tmp_path / "down.toml"
    path.write_text(f"""
[cockpit]
name = "down"
environment = "drill"

[ssh]
known_hosts = "{tmp_path / 'known_hosts'}"
port = {port}
connect_timeout = "5s"

[hosts]
web = ["127.0.1.9"]

[[step]]
id = "x"
title = "x"
phase = "rollback"
hosts = "web"
confirm = "none"
command = "true"
""")
    (tmp_path / "known_hosts").write_text("")
    r = cockpit("run", "x", "--profile", str(path))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "127.0.1.9  unreachable" in r.stdout and "Traceback" not in r.stderr
    end = next(e for e in read_journal(_journal()) if e["type"] == "step_end")
    assert end["state"] == "failed" and end["hosts"][0]["state"] == "unreachable" and end["hosts"][0]["error"]
