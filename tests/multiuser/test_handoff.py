"""#12: handoff between Unix users: the lock moves without a gap, same journal, same RTO clock, timeline says who drove."""

from __future__ import annotations

import os
from pathlib import Path

from cockpit.journal import read_journal
from cockpit.lock import DriverLock, LockHeld
from tests.multiuser.conftest import Bastion, agent


def test_handoff_keeps_the_journal_and_the_clock(bastion: Bastion) -> None:
    a, b, c = bastion.users.names
    alice = agent(bastion, a)
    ready = alice.find(lambda e: e["kind"] == "ready", what="alice")
    bob = agent(bastion, b)                        # not --read-only: a second driver, now observing
    try:
        assert ready["is_driver"]
        bob_ready = bob.find(lambda e: e["kind"] == "ready", what="bob")
        assert not bob_ready["is_driver"] and any("locked by" in n for n in bob_ready["notices"])
        n = alice.send(op="fire", step="start")
        alice.find(lambda e: e["kind"] == "result" and e["step"] == "start", after=n)
        n = alice.send(op="state")
        before = alice.find(lambda e: e["kind"] == "state", after=n)
        assert before["rollback_started"] is not None
        bob.find(lambda e: e["kind"] == "journal" and e["entry"]["type"] == "rollback_start", what="bob follows")

        n_offer = alice.send(op="offer", to=b, timeout=30)
        bob.find(lambda e: e["kind"] == "journal" and e["entry"]["type"] == "handoff_offered", what="the offer")
        n = bob.send(op="accept", timeout=20)
        accepted = bob.find(lambda e: e["kind"] in ("result", "error") and e.get("op") == "accept", after=n)
        assert accepted["kind"] == "result", accepted
        assert alice.find(lambda e: e["kind"] in ("result", "error") and e.get("op") == "offer",
                          after=n_offer)["value"] is True

        n = bob.send(op="state")
        after = bob.find(lambda e: e["kind"] == "state", after=n)
        assert after["is_driver"] and after["journal"] == before["journal"]     # same journal
        assert after["rollback_started"] == before["rollback_started"]          # same RTO clock
        assert after["session"] == before["session"]
        alice.find(lambda e: e["kind"] == "driver" and e["state"] == "driving", after=n_offer,
                   what="alice to see bob driving")
        n = alice.send(op="state")
        alice_now = alice.find(lambda e: e["kind"] == "state", after=n)
        assert not alice_now["is_driver"] and alice_now["driver_state"] == "driving"
        assert alice_now["driver"].startswith(f"{b}@")

        # the new driver drives; the old one is refused like any observer, and so is a third user
        n = bob.send(op="fire", step="finish")
        done = bob.find(lambda e: e["kind"] == "result" and e["step"] == "finish", after=n)
        assert done["state"] == "ok"
        n = alice.send(op="fire", step="prepare")
        refused = alice.find(lambda e: e["kind"] == "result" and e["step"] == "prepare", after=n)
        assert refused["state"] == "refused" and f"locked by {b}@" in refused["reason"]
        r = bastion.run(c, "run", "prepare", "--profile", str(bastion.profile))
        assert r.returncode == 3 and f"locked by {b}@" in r.stderr
    finally:
        for who in (alice, bob):
            who.send(op="quit")
        errors = [alice.close(), bob.close()]
    assert not any("Traceback" in e for e in errors), errors
    journal = Path(before["journal"])
    entries = read_journal(journal, on_warning=lambda _: None)
    types = [e["type"] for e in entries]
    assert types.count("rollback_start") == 1 and "rollback_end" in types
    resumed = next(e for e in entries if e["type"] == "session_resume" and e.get("handoff_from"))
    assert resumed["user"] == b and resumed["handoff_from"].startswith(f"{a}@")
    hand = next(e for e in entries if e["type"] == "handoff")
    assert hand["by"].startswith(f"{a}@") and hand["to"].startswith(f"{b}@")
    report = bastion.run(c, "report", str(journal))
    assert "### Who drove when" in report.stdout, report.stdout
    assert f"{a}@" in report.stdout.split("### Who drove when")[1].split("###")[0]
    assert f"{b}@" in report.stdout.split("### Who drove when")[1].split("###")[0]
    assert f"**{b}@" in report.stdout and "took over driving** from" in report.stdout


def test_a_free_lock_reserved_by_a_handoff_is_refused_to_anyone_else(bastion: Bastion, monkeypatch) -> None:
    """No gap: between the old driver letting go and the new one taking the lock, nobody else gets it."""
    from cockpit.profile.load import load_profile

    monkeypatch.setenv("COCKPIT_STATE_DIR", str(bastion.state))
    profile = load_profile(bastion.profile)
    first = DriverLock.for_profile(profile)
    first.acquire()
    other_uid = bastion.users.uid(bastion.users.names[1])
    first.update(handoff_uid=other_uid, handoff_until=first.holder.started + 3600)
    first.release(keep_info=True)
    third = DriverLock.for_profile(profile)
    try:
        third.acquire()
    except LockHeld as e:
        assert f"being handed over by {first.holder.who} to {bastion.users.names[1]}" in str(e)
    else:
        raise AssertionError("a third party took the lock reserved for the handoff")
    assert os.geteuid() != other_uid
