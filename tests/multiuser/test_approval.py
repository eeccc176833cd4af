"""#12: the two-person rule between real Unix users: another user approves exactly what runs, in time."""

from __future__ import annotations

import os
import signal
import subprocess

from cockpit.journal import read_journal
from tests.multiuser.conftest import Bastion, children, wait_until


def _journal(bastion: Bastion) -> list[dict]:
    files = sorted((bastion.state / "journals").glob("*.jsonl"))
    assert files, "no journal"
    return read_journal(files[-1], on_warning=lambda _: None)


def _types(bastion: Bastion) -> list[str]:
    return [e["type"] for e in _journal(bastion)]


def _wait_request(bastion: Bastion) -> dict:
    return wait_until(lambda: next((e for e in (_journal(bastion) if list((bastion.state / "journals").glob("*"))
                                                else []) if e["type"] == "approval_requested"), None),
                      what="the approval request")  # type: ignore[return-value]


def _drive_migrate(bastion: Bastion, user: str, profile: str | None = None) -> subprocess.Popen[str]:
    return bastion.popen(user, "run", "migrate", "--confirm", "drill", "--profile", profile or str(bastion.profile))


def _finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _interrupt(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    for pid in children(proc.pid):
        os.kill(pid, signal.SIGINT)
    return _finish(proc)


def test_another_user_approves_exactly_what_runs(bastion: Bastion) -> None:
    a, b, _ = bastion.users.names
    driver = _drive_migrate(bastion, a)
    try:
        req = _wait_request(bastion)
        assert req["command"] == f"echo migrating console-1 && touch {bastion.marks}/migrated"
        assert req["by"].startswith(f"{a}@") and req["expires"] - req["ts"] == 60.0
        assert not (bastion.marks / "migrated").exists()          # nothing runs before the approval
        r = bastion.run(b, "approve", "migrate", "--profile", str(bastion.profile), "--confirm", "drill")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert f"approval requested by {a}@" in r.stdout and "command: echo migrating console-1" in r.stdout
        assert "approved: the driver" in r.stdout
        code, out, err = _finish(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert code == 0, (out, err)
    assert "waits for approval by another Unix user" in err and f"approved by {b}@" in err
    assert (bastion.marks / "migrated").exists()
    entries = _journal(bastion)
    granted = next(e for e in entries if e["type"] == "approval_granted")
    assert granted["by"].startswith(f"{b}@") and granted["uid"] == bastion.users.uid(b)
    assert granted["request"] == req["request"] and granted["digest"] == req["digest"]
    types = [e["type"] for e in entries]
    assert types.index("approval_requested") < types.index("approval_granted") < types.index("step_start")
    report = bastion.run(b, "report", str(sorted((bastion.state / "journals").glob("*.jsonl"))[-1]))
    assert report.returncode == 0, report.stderr
    assert f"approval of `migrate` requested by {a}@" in report.stdout
    assert f"**approved** `migrate` by {b}@" in report.stdout, report.stdout


def test_self_approval_is_refused_by_the_command_and_by_the_driver(bastion: Bastion) -> None:
    a, _, _ = bastion.users.names
    driver = _drive_migrate(bastion, a)
    try:
        req = _wait_request(bastion)
        r = bastion.run(a, "approve", "migrate", "--profile", str(bastion.profile), "--confirm", "drill")
        assert r.returncode == 3 and "self-approval refused" in r.stderr, (r.stdout, r.stderr)
        # the driver's user forges an answer file past the command: the driver judges by the file's owner
        code = ("import json,os,time; from pathlib import Path; from cockpit.state import state_for, profile_key;"
                "from cockpit.profile.load import load_profile; p=load_profile(os.environ['P']);"
                "s=state_for(p); path=s.approvals/f\"{profile_key(p)}-{os.environ['R']}-{os.geteuid()}.json\";"
                "d={'request':os.environ['R'],'digest':os.environ['D'],'decision':'approve','reason':'',"
                "'user':'someone-else','host':'x','pid':1,'ts':time.time()};"
                "s.write_atomic(path, json.dumps(d).encode())")
        forged = bastion.run(a, "-c", code, env={"P": str(bastion.profile), "R": req["request"], "D": req["digest"]})
        assert forged.returncode == 0, forged.stderr
        wait_until(lambda: "approval_rejected" in _types(bastion), what="the forged answer rejected")
        rejected = next(e for e in _journal(bastion) if e["type"] == "approval_rejected")
        assert "self-approval refused" in rejected["reason"] and rejected["by"].startswith(f"{a}@")
        assert driver.poll() is None and not (bastion.marks / "migrated").exists()
        code_, out, err = _interrupt(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert code_ == 3 and "refused" in err, (out, err)
    assert "approval_cancelled" in _types(bastion) and "step_start" not in _types(bastion)
    assert not (bastion.marks / "migrated").exists()


def test_an_approval_for_another_command_or_host_set_is_refused(bastion: Bastion) -> None:
    a, b, c = bastion.users.names
    other = bastion.profile.with_name("other-vars.toml")         # same incident, another {target}
    other.write_text(bastion.profile.read_text().replace('target = "console-1"', 'target = "console-2"'))
    other.chmod(0o644)
    driver = _drive_migrate(bastion, a, str(other))
    try:
        req = _wait_request(bastion)
        assert "console-2" in req["command"]
        r = bastion.run(b, "approve", "migrate", "--profile", str(bastion.profile), "--confirm", "drill")
        assert r.returncode == 3 and "not approving a command you were not shown" in r.stderr, r.stderr
        # an answer bound to another command (a stale or doctored approval) does not count
        code = ("import os; from cockpit.approval import Request, digest, write_answer;"
                "from cockpit.journal import read_journal; from cockpit.profile.load import load_profile;"
                "from cockpit.state import state_for; p=load_profile(os.environ['P']); s=state_for(p);"
                "import glob; j=sorted(glob.glob(str(s.journals)+'/*.jsonl'))[-1];"
                "e=[x for x in read_journal(j) if x['type']=='approval_requested'][-1]; r=Request.from_entry(e);"
                "write_answer(s, p, r, approve=True, bound_digest=digest('migrate', 'echo migrating console-1"
                " && touch '+os.environ['M']+'/migrated', r.hosts))")
        sent = bastion.run(c, "-c", code, env={"P": str(bastion.profile), "M": str(bastion.marks)})
        assert sent.returncode == 0, sent.stderr
        wait_until(lambda: "approval_rejected" in _types(bastion), what="the mismatched answer rejected")
        rejected = next(e for e in _journal(bastion) if e["type"] == "approval_rejected")
        assert "another command or host set" in rejected["reason"] and rejected["by"].startswith(f"{c}@")
        assert driver.poll() is None and not (bastion.marks / "migrated").exists()
        # the approver who reads the same profile as the driver can approve it
        r = bastion.run(b, "approve", "migrate", "--profile", str(other), "--confirm", "drill")
        assert r.returncode == 0, r.stderr
        code_, out, err = _finish(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert code_ == 0, (out, err)
    assert (bastion.marks / "migrated").exists()


def test_an_expired_request_is_refused_and_an_approval_never_carries_over(bastion: Bastion) -> None:
    a, b, _ = bastion.users.names
    short = bastion.profile.with_name("short.toml")
    short.write_text(bastion.profile.read_text().replace('approval_timeout = "60s"', 'approval_timeout = "2s"'))
    short.chmod(0o644)
    driver = _drive_migrate(bastion, a, str(short))
    try:
        _wait_request(bastion)
        code, out, err = _finish(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert code == 3 and "no approval within 2s" in err, (out, err)
    assert "approval_expired" in _types(bastion)
    late = bastion.run(b, "approve", "migrate", "--profile", str(short), "--confirm", "drill")
    assert late.returncode == 1 and "no pending approval request" in late.stderr, late.stderr
    # approve a first firing, then fire again: the second firing needs its own approval
    driver = _drive_migrate(bastion, a, str(short).replace("short", "profile"))
    r = bastion.run(b, "approve", "migrate", "--profile", str(bastion.profile), "--confirm", "drill", "--wait", "20")
    assert r.returncode == 0, r.stderr
    assert _finish(driver)[0] == 0
    (bastion.marks / "migrated").unlink()
    again = _drive_migrate(bastion, a, str(short))
    code, out, err = _finish(again)
    assert code == 3 and "no approval within 2s" in err, (out, err)
    assert not (bastion.marks / "migrated").exists()


def test_the_wrong_environment_or_a_refusal_without_reason_is_refused(bastion: Bastion) -> None:
    a, b, _ = bastion.users.names
    driver = _drive_migrate(bastion, a)
    try:
        _wait_request(bastion)
        r = bastion.run(b, "approve", "migrate", "--profile", str(bastion.profile), "--confirm", "production")
        assert r.returncode == 3 and "type the environment name (drill)" in r.stderr, r.stderr
        r = bastion.run(b, "approve", "migrate", "--profile", str(bastion.profile), "--refuse", "migrations not ready")
        assert r.returncode == 0 and "refused: the driver stops migrate" in r.stdout, (r.stdout, r.stderr)
        code, _out, err = _finish(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert code == 3 and f"approval refused by {b}@" in err and "migrations not ready" in err, err
    refused = next(e for e in _journal(bastion) if e["type"] == "approval_refused")
    assert refused["reason"] == "migrations not ready" and refused["by"].startswith(f"{b}@")
    assert not (bastion.marks / "migrated").exists()
