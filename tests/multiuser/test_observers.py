"""#12: observers of any user follow the driver live, from its journal and feed; a killed driver shows as gone."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from tests.multiuser.conftest import Bastion, Lines


class Watch(Lines):
    """``cockpit watch --json`` as a user."""

    def __init__(self, bastion: Bastion, user: str, *extra: str) -> None:
        super().__init__(bastion.popen(user, "watch", "--profile", str(bastion.profile), "--json", *extra))

    def journal(self, type_: str, step: str | None = None) -> Any:
        return lambda e: (e["kind"] == "journal" and e["entry"]["type"] == type_
                          and (step is None or e["entry"].get("step") == step))


def test_observers_of_other_users_see_each_step_within_a_second(bastion: Bastion) -> None:
    a, b, c = bastion.users.names
    watchers = [Watch(bastion, b), Watch(bastion, c)]
    try:
        for w in watchers:
            w.find(lambda e: e["kind"] == "driver" and e["state"] == "none", what="the observer to start")
        for step in ("prepare", "start", "finish"):
            r = bastion.run(a, "run", step, "--profile", str(bastion.profile))
            assert r.returncode == 0, r.stderr
            for w in watchers:
                for kind in ("step_start", "step_end"):
                    e = w.find(w.journal(kind, step), what=f"{kind} {step}")
                    delay = e["seen"] - e["entry"]["ts"]
                    assert delay < 1.0, f"{kind} {step} seen {delay:.2f}s after it was journalled"
        for w in watchers:
            starts = [e["entry"] for e in w.events if e["kind"] == "journal" and e["entry"]["type"] == "step_start"]
            assert [s["step"] for s in starts] == ["prepare", "start", "finish"]
            assert all(s["by"].startswith(f"{a}@") for s in starts)
            rb = w.find(w.journal("rollback_end"), what="the RTO clock's end")
            assert rb["entry"]["by"].startswith(f"{a}@")
    finally:
        errors = [w.close() for w in watchers]
    assert not any("Traceback" in e for e in errors), errors


def test_live_output_comes_from_the_feed_and_a_killed_driver_shows_as_gone(bastion: Bastion) -> None:
    a, b, _ = bastion.users.names
    w = Watch(bastion, b)
    driver = bastion.popen(a, "run", "slow", "--profile", str(bastion.profile))
    try:
        w.find(lambda e: e["kind"] == "driver" and e["state"] == "driving" and (e["holder"] or "").startswith(a),
               what="the driver to be seen")
        w.find(lambda e: e["kind"] == "sampling" and e["mode"] == "driver feed", what="sampling from the feed")
        line = w.find(lambda e: e["kind"] == "output" and e["text"] == "tick-2", what="a live output line")
        assert line["step"] == "slow"
        assert not any(e["kind"] == "journal" and e["entry"]["type"] == "step_end" for e in w.events)
        os.killpg(driver.pid, signal.SIGKILL)             # kill -9 the driver and its step
        killed = time.time()
        driver.wait()
        gone = w.find(lambda e: e["kind"] == "driver" and e["state"] == "gone", timeout=10, what="driver gone")
        assert gone["seen"] - killed < 2.0
        assert gone["since"] is not None and killed - 2.0 < gone["since"] <= killed + 0.5
        w.find(lambda e: e["kind"] == "sampling" and e["mode"] == "own polling", what="visible fallback")
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        err = w.close()
    assert "Traceback" not in err
    # whoever comes next resumes the same incident and says so
    r = bastion.run(b, "run", "prepare", "--profile", str(bastion.profile))
    assert r.returncode == 0, r.stderr
    assert "took over a stale driver lock" in r.stderr and a in r.stderr, r.stderr
    assert "resumed session" in r.stderr


BURST = """
[[step]]
id = "burst"
title = "A burst of output"
phase = "prepare"
kind = "local"
confirm = "none"
timeout = "60s"
command = "seq 1 3000; echo burst-done"
"""


def test_an_observer_of_another_user_gets_every_output_line_from_the_recordings(bastion: Bastion) -> None:
    """#16: the driver's recordings are readable by the bastion's group, so an observer of another Unix
    user follows a step's output whole (3,001 lines in a burst; the published feed keeps 200)."""
    from tests.multiuser.conftest import STEPS, profile_text

    a, b, _ = bastion.users.names
    profile = bastion.profile.with_name("burst.toml")
    profile.write_text(profile_text(bastion.marks, steps=STEPS + BURST))
    profile.chmod(0o644)
    w = Lines(bastion.popen(b, "watch", "--profile", str(profile), "--json"))
    try:
        w.find(lambda e: e["kind"] == "driver", what="the observer to start")
        driver = bastion.popen(a, "run", "burst", "--profile", str(profile))
        w.find(lambda e: e["kind"] == "journal" and e["entry"]["type"] == "step_start", what="the step's start")
        w.find(lambda e: e["kind"] == "journal" and e["entry"]["type"] == "step_end", timeout=60, what="its end")
        assert driver.wait(60) == 0
    finally:
        err = w.close()
    assert "Traceback" not in err
    texts = [e["text"] for e in w.events if e["kind"] == "output" and e["step"] == "burst"]
    assert texts == [str(i) for i in range(1, 3001)] + ["burst-done"], (len(texts), texts[:3], texts[-3:])
