"""#16: an interrupted step ends, in the record, when the cockpit running it died: not when the next
cockpit resumed the incident (which may be minutes or hours later).

A real `cockpit run` streams output from a real sshd and is killed with SIGKILL mid-step; a new
driver resumes the incident ten minutes later (its clock is moved, nothing sleeps)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cockpit.controller import Controller
from cockpit.journal import journals_of, read_journal
from cockpit.recording import folder_for
from cockpit.report import render_json, render_markdown
from cockpit.session import Session
from tests.engine.conftest import REPO, wait_until

SLOW = """
[[step]]
id = "slow"
title = "Slow output on every web host"
phase = "rollback"
hosts = "web"
confirm = "none"
timeout = "120s"
command = "for i in $(seq 1 600); do echo tick-$i; sleep 0.1; done"
"""
LATER = 600.0


def recorded_lines(folder: Path) -> list[float]:
    """The absolute times of every output event recorded so far (header timestamp + offsets)."""
    times = []
    for cast in folder.glob("*/*.cast"):
        lines = cast.read_text().splitlines()
        if not lines:
            continue
        for raw in lines[1:]:
            try:
                times.append(json.loads(raw)[0])
            except ValueError:
                pass
    return times


async def test_an_interrupted_step_ends_when_its_cockpit_died(sshd, make_profile) -> None:
    profile = make_profile(ssh=sshd, steps=SLOW)
    run = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "slow", "--profile", str(profile.path), "--yes"],
                           cwd=REPO, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        journal = wait_until(lambda: journals_of(profile), what="the journal")[0]
        wait_until(lambda: len(recorded_lines(folder_for(journal))) >= 10, what="output recorded on the hosts")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    killed = time.time()
    entries = read_journal(journal)
    start = next(e for e in entries if e["type"] == "step_start")
    last_output = start["ts"] + max(recorded_lines(folder_for(journal)))

    resumed = Controller(profile, now=lambda: time.time() + LATER)     # the next driver, 10 minutes on
    await resumed.start(connect=False, poll=False)
    await resumed.stop()

    entries = read_journal(journal)
    end = next(e for e in entries if e["type"] == "step_end" and e["step"] == "slow")
    assert end["state"] == "cancelled" and "interrupted" in end["reason"]
    assert end["ts"] >= killed + LATER - 5                # written when the next driver resumed
    # ... but the record says when the step died: its last recorded output or the cockpit's last heartbeat
    report = render_json(entries)
    (step,) = [s for s in report["steps"] if s["step"] == "slow"]
    assert last_output - 0.01 <= step["ended"] <= killed + 0.01, (last_output, step["ended"], killed)
    assert step["ended"] == end["ended"] and step["duration"] == end["duration"]
    assert end["duration"] == round(end["ended"] - start["ts"], 3)
    assert Session.from_entries(entries).steps["slow"].ended == end["ended"]
    died = time.strftime("%H:%M:%S", time.localtime(end["ended"]))
    assert died in render_markdown(entries)
