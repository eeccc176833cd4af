"""#12: observers draw the panels from the driver's feed: no extra load on production, cheap to follow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cockpit.controller import Controller
from cockpit.journal import Journal
from cockpit.profile.load import load_profile
from tests.multiuser.conftest import Bastion, Lines, agent, profile_text, wait_until
from tests.support.httpstub import running_stub

SOURCES = """
[sources.blue]
kind = "http"
url = "{url}"
timeout = "2s"
interval = "0.5s"

[[signal]]
id = "healthz"
title = "/healthz"
source = "blue"
field = "status"
view = "history"

[[check]]
signal = "healthz"
condition = "== 200"
"""


def state_of(lines: Lines) -> dict[str, Any]:
    n = lines.send(op="state")
    return lines.find(lambda e: e["kind"] == "state", after=n, what="a state answer")


def _profile(bastion: Bastion, url: str) -> Path:
    path = bastion.profile.with_name("feed.toml")
    path.write_text(profile_text(bastion.marks, extra=SOURCES.format(url=url)))
    path.chmod(0o644)
    return path


def test_observers_of_other_users_add_no_probes_and_see_the_driver_samples(bastion: Bastion) -> None:
    a, b, c = bastion.users.names
    with running_stub() as stub:
        profile = _profile(bastion, stub.url("/healthz"))
        driver = agent(bastion, a, profile=profile)
        observers = []
        try:
            ready = driver.find(lambda e: e["kind"] == "ready", what="the driver")
            assert ready["is_driver"] and ready["scope"] == "bastion-wide"
            wait_until(lambda: stub.count("/healthz") >= 2, what="the driver's probes")
            observers = [agent(bastion, u, "--read-only", profile=profile) for u in (b, c)]
            for o in observers:
                o.find(lambda e: e["kind"] == "ready", what="an observer")
            for o in observers:
                st = wait_until(lambda o=o: (s := state_of(o))["latest"].get("healthz") == {"": 200.0} and s,
                                what="the observer's panel value from the feed")
                assert st["sampling"] == "driver feed" and not st["polling"] and not st["is_driver"]
            # over a window, every probe the stub sees is the driver's: about 2 per second
            before = stub.count("/healthz")
            time.sleep(3.0)   # a measurement window, not synchronisation
            probes = stub.count("/healthz") - before
            assert probes <= 8, f"{probes} probes in 3 s with one driver at 0.5 s: observers are probing"
        finally:
            for o in observers:
                o.close()
            driver.send(op="quit")
            driver.close()


async def test_following_is_cheap_with_300_old_journals(tmp_path: Path, monkeypatch) -> None:
    """Following the one open incident: old journals are parsed once, never re-parsed every poll."""
    path = tmp_path / "p.toml"
    path.write_text(profile_text(tmp_path))
    profile = load_profile(path)
    t0 = 1_700_000_000.0
    for n in range(300):
        clock = iter([t0 + n * 60 + k for k in range(10)])
        j = Journal.create(profile, now=lambda clock=clock: next(clock))
        j.append("session_start", user="old", host="h", mode="driver")
        j.append("session_end")
        j.close()
    c = Controller(profile, read_only=True)
    await c.start(connect=False, poll=False)
    try:
        first = c._open_journals.parses
        assert first <= 300
        for _ in range(12):             # 12 more looks, some past the rescan interval
            await c._observe_once()
        c._last_scan = float("-inf")
        await c._observe_once()
        assert c._open_journals.parses == first, "old journals were parsed again"
        assert c.driver_state == "none" and c._follower is None
    finally:
        await c.stop()
    # a new incident appears: found by the next scan, at the cost of one parse
    j = Journal.create(profile)
    j.append("session_start", user="new", host="h", mode="driver")
    c = Controller(profile, read_only=True)
    await c.start(connect=False, poll=False)
    try:
        assert c._follower is not None and c._follower.path == j.path
        assert c.driver_state == "gone"     # attached in the journal, nobody holds the lock
    finally:
        await c.stop()
        j.close()
