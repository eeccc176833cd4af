"""#11.9: a local step dies with the cockpit, even on `kill -9`; a resume says what still runs.

Real processes: `cockpit run` in a subprocess fires a local step whose shell starts
children (`sleep 300 &`, `sleep 301`); the cockpit is killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.journal import journals_of, read_journal
from cockpit.steps.local import shell_argv
from tests.engine.conftest import REPO, cockpit, wait_until


def group(pgid: int) -> list[tuple[int, str]]:
    """Live members of process group ``pgid`` as `ps` sees them: (pid, command), zombies left out."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat=,args="], capture_output=True, text=True,
                         check=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines()]
    return sorted((int(r[0]), r[3]) for r in rows if len(r) == 4 and int(r[1]) == pgid and not r[2].startswith("Z"))


STEPS = """
[[step]]
id = "hang"
title = "A local step that would outlive its cockpit"
phase = "prepare"
kind = "local"
confirm = "none"
timeout = "10m"
command = "echo $$ > {marks}/hang.pid; sleep 300 & sleep 301; wait"
"""


@pytest.fixture
def started(make_profile, marker_dir: Path) -> Iterator[tuple[object, subprocess.Popen[bytes], int]]:
    """`cockpit run hang` running, its shell's process group known (the group is killed at teardown)."""
    profile = make_profile(steps=STEPS)
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "hang", "--profile", profile.path],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pgid = 0
    try:
        pid_file = marker_dir / "hang.pid"
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the step's shell")
        pgid = int(pid_file.read_text())
        wait_until(lambda: len(group(pgid)) >= 3, what="the shell and its two sleeps")
        yield profile, proc, pgid
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if pgid:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_kill_9_of_the_cockpit_takes_the_whole_step_with_it(started) -> None:
    _profile, proc, pgid = started
    proc.kill()                                           # SIGKILL: no handler, no cleanup of its own
    proc.wait()
    wait_until(lambda: not group(pgid), timeout=10, what=f"process group {pgid} to be gone")


def test_resume_says_what_an_interrupted_step_left_running(started) -> None:
    profile, proc, pgid = started
    path = journals_of(profile)[0]
    record = wait_until(lambda: next((e for e in read_journal(path) if e["type"] == "step_process"), None),
                        what="the step's process in the journal")
    assert record["pgid"] == pgid and record["pid"] == pgid and record["watchdog"]
    os.kill(record["watchdog"], signal.SIGKILL)           # both killed: what is left is what resume must tell
    proc.kill()
    proc.wait()
    wait_until(lambda: all(cmd.startswith("sleep") for _, cmd in group(pgid)), what="the shell to die")
    left = group(pgid)
    assert {cmd for _, cmd in left} == {"sleep 300", "sleep 301"}
    r = cockpit("run", "prepare", "--profile", profile.path, "--yes")
    assert r.returncode == 0, r.stderr
    assert f"hang was interrupted: its processes are STILL RUNNING on this machine: pid {left[0][0]} " in r.stderr
    assert f"kill -- -{pgid}" in r.stderr
    end = next(e for e in read_journal(path) if e["type"] == "step_end" and e["step"] == "hang")
    assert end["state"] == "cancelled" and "STILL RUNNING" in end["reason"]


def test_a_shell_whose_cockpit_died_before_the_death_signal_was_set_kills_itself() -> None:
    """The window between the fork and setpriv's prctl: the shell checks its parent before the command."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "util-linux's setpriv (Essential on Debian) is on this machine"
    mine = subprocess.run(shell_argv("echo ran", os.getpid(), setpriv), capture_output=True, text=True, check=False)
    assert (mine.returncode, mine.stdout) == (0, "ran\n")
    orphan = subprocess.run(shell_argv("echo ran", 1, setpriv), capture_output=True, text=True, check=False)
    assert (orphan.returncode, orphan.stdout) == (-signal.SIGKILL, "")
    plain = subprocess.run(shell_argv("echo $0 ran", 1, None), capture_output=True, text=True, check=False)
    assert (plain.returncode, plain.stdout) == (0, "/bin/sh ran\n")     # without setpriv: the watchdog alone
