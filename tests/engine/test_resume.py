"""Resume: a restarted driver finds the open session and carries on (RTO clock and steps done)."""

from __future__ import annotations

import json

from cockpit.controller import Controller
from cockpit.journal import RESUME_WINDOW, Journal, journals_of, read_journal


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


BY_HAND = """
[[step]]
id = "warm"
title = "Warm the caches by hand"
phase = "prepare"
kind = "manual"
confirm = "none"
"""


async def test_resume_restores_rto_clock_and_steps_done(make_profile) -> None:
    profile = make_profile(steps=BY_HAND)
    clock = Clock(1_800_000_000.0)
    first = Controller(profile, now=clock)
    await first.start(connect=False, poll=False)
    assert (await first.fire("prepare")).ok
    assert first.start_rollback()
    started = first.session.rollback_started
    assert started == clock.t
    clock.t += 120
    assert first.rto_elapsed() == 120
    assert first.tick_manual("warm", "warmed caches by hand too").allowed
    await first.stop()                           # quit without rollback_end
    assert not first.lock.held

    clock.t += 60
    second = Controller(profile, now=clock)
    await second.start(connect=False, poll=False)
    try:
        assert second.journal.path == first.journal.path          # same journal file appended
        assert second.session.rollback_started == started           # the RTO clock came back
        assert second.rto_elapsed() == 180
        assert "prepare" in second.session.done
        assert "warm" in second.session.done
        assert second.session.ticks["warm"][0]["note"] == "warmed caches by hand too"
        assert any(n.startswith("resumed session") for n in second.notices)
        assert not second.start_rollback()                          # it is already running
        assert (await second.fire("finish")).ok                     # ends_rollback
        assert second.session.rollback_ended == clock.t
    finally:
        await second.stop()
    entries = read_journal(first.journal.path)
    types = [e["type"] for e in entries]
    assert types.count("session_start") == 1 and types.count("session_resume") == 1
    assert types.count("rollback_start") == 1 and types[-2] == "rollback_end"
    end = entries[types.index("rollback_end")]
    assert end["elapsed"] == 180 and end["within_rto"] is True
    assert len({e["session"] for e in entries}) == 1

    clock.t += 60
    third = Controller(profile, now=clock)   # rollback ended, post-rollback steps to come: same journal
    await third.start(connect=False, poll=False)
    try:
        assert third.journal.path == first.journal.path
        assert third.session.rollback_ended is not None and not third.start_rollback()
    finally:
        await third.stop()

    clock.t += RESUME_WINDOW + 1
    fourth = Controller(profile, now=clock)  # the next day: a new incident, a new journal
    await fourth.start(connect=False, poll=False)
    try:
        assert fourth.journal.path != first.journal.path and fourth.session.rollback_started is None
    finally:
        await fourth.stop()
    assert len(journals_of(profile)) == 2


async def test_resume_after_crash_marks_the_interrupted_step(make_profile) -> None:
    profile = make_profile()
    j = Journal.create(profile)
    j.append("session_start", user="alice", host="bastion-1", mode="driver", pid=1)
    j.append("rollback_start")
    j.append("step_start", step="touch", hosts=["web-1", "web-2"])
    j.close()
    with j.path.open("ab") as f:
        f.write(b'{"ts":1,"type":"step_e')            # kill -9 mid-write
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    try:
        assert c.journal.path == j.path
        assert c.session.state_of("touch") == "cancelled"
        assert "interrupted" in (c.session.steps["touch"].reason or "")
        assert "touch" not in c.session.running and c.session.rollback_running
    finally:
        await c.stop()
    lines = j.path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == [
        "session_start", "rollback_start", "step_start", "journal_repaired", "session_resume", "step_end",
        "session_end"]


async def test_observer_follows_the_driver(make_profile) -> None:
    profile = make_profile()
    driver = Controller(profile)
    await driver.start(connect=False, poll=False)
    observer = Controller(profile, read_only=True)
    seen: list[str] = []
    observer.on_journal(lambda e: seen.append(e["type"]))
    await observer.start(connect=False, poll=False)
    try:
        driver.start_rollback()
        assert (await driver.fire("prepare")).ok
        import asyncio

        async def until(pred, what: str) -> None:
            async with asyncio.timeout(30):
                while not pred():
                    await asyncio.sleep(0.05)

        await until(lambda: "step_end" in seen, "the observer to see the step end")
        assert observer.session.rollback_started == driver.session.rollback_started
        assert "prepare" in observer.session.done
        assert observer.driver == driver.driver and observer.lock_holder == driver.lock.holder
        refused = await observer.fire("prepare")
        assert refused.state == "refused" and "read-only" in (refused.reason or "")
    finally:
        await observer.stop()
        await driver.stop()
    assert "guard_refused" not in [e["type"] for e in read_journal(driver.journal.path)]
