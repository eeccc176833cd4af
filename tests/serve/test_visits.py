"""#17: browser visits reach the journal through the driver: once each, checked, never damage or a planted file."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from cockpit.controller import Controller
from cockpit.entries import validate
from cockpit.journal import read_journal
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.serve_visits import VisitCollector, VisitLog, parse, visits_dir
from cockpit.state import profile_key, state_for
from tests.multiuser.conftest import profile_text


def _profile(tmp_path: Path) -> Profile:
    marks = tmp_path / "marks"
    marks.mkdir()
    p = tmp_path / "p.toml"
    p.write_text(profile_text(marks, name="visits"))
    return load_profile(str(p))


def test_damaged_visit_lines_are_skipped() -> None:
    assert parse(b'{"event": "joined", "visit": "v", "ts": 1700000000}') is not None
    for bad in (b"", b"{", b"[]", b'{"event": "fired", "visit": "v", "ts": 1}',
                b'{"event": "joined", "visit": 3, "ts": 1}', b'{"event": "joined", "visit": "v", "ts": NaN}',
                b'{"event": "joined", "visit": "v", "ts": 1e300}', b'{"event": "joined", "visit": "v", "ts": true}',
                b'{"event": "joined", "visit": "v", "ts": 1700000000, "x": "' + b"a" * 5000 + b'"}'):
        assert parse(bad) is None, bad
    rec = parse(b'{"event": "left", "visit": "v", "ts": 1700000000, "user_agent": "a\\u001b[31mred",'
                b' "duration": -1}')
    assert rec is not None and "\x1b" not in rec["user_agent"] and "duration" not in rec


def test_each_visit_event_is_collected_once_and_old_ones_are_not_this_incident(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    state = state_for(profile)
    key = profile_key(profile)
    log = VisitLog(state, key)
    now = time.time()
    log.write("joined", "old", now - 3600, remote="127.0.0.1")
    log.write("joined", "v1", now, remote="127.0.0.1", user_agent="UA")
    c = VisitCollector(state, key, since=now - 60)
    got = list(c.collect())
    assert [(r["visit"], r["event"]) for r in got] == [("v1", "joined")]
    assert list(c.collect()) == []
    log.write("left", "v1", now + 1, reason="idle", duration=1.0)
    assert [(r["visit"], r["event"], r["reason"]) for r in c.collect()] == [("v1", "left", "idle")]
    # a second collector seeded with what the journal already holds journals nothing twice
    again = VisitCollector(state, key, since=now - 60, seen={("v1", "joined"), ("v1", "left")})
    assert list(again.collect()) == []
    log.close()


def test_a_planted_visit_file_is_not_read(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    state = state_for(profile)
    key = profile_key(profile)
    target = tmp_path / "elsewhere.jsonl"
    target.write_text(json.dumps({"event": "joined", "visit": "evil", "ts": time.time()}) + "\n")
    os.symlink(target, visits_dir(state) / f"{key}.1-link.jsonl")
    writable = visits_dir(state) / f"{key}.2-open.jsonl"
    writable.write_text(json.dumps({"event": "joined", "visit": "evil2", "ts": time.time()}) + "\n")
    writable.chmod(0o666)
    assert list(VisitCollector(state, key, since=0).collect()) == []


async def test_the_driver_journals_visits_with_their_time_and_once_across_a_resume(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    driver = Controller(profile)
    await driver.start(connect=False, poll=False)
    log = VisitLog(driver.state, profile_key(profile))
    try:
        at = time.time()
        log.write("joined", "abc", at, remote="127.0.0.1", user_agent="HeadlessChrome", by="root@vm")
        end = time.monotonic() + 10
        while not [e for e in driver.journal_entries() if e["type"] == "observer_joined"]:
            assert time.monotonic() < end, "the visit was not journalled"
            await asyncio.sleep(0.05)
        assert driver.journal is not None
        path = driver.journal.path
        await driver.fire("prepare", confirmation="drill", yes=True)   # something done: the next driver resumes
    finally:
        await driver.stop()
    again = Controller(profile)
    await again.start(connect=False, poll=False)
    try:
        assert again.journal is not None and again.journal.path == path
        log.write("left", "abc", time.time(), reason="closed", duration=2.0)
        end = time.monotonic() + 10
        while not [e for e in again.journal_entries() if e["type"] == "observer_left"]:
            assert time.monotonic() < end, "the end of the visit was not journalled"
            await asyncio.sleep(0.05)
    finally:
        await again.stop()
        log.close()
    entries = read_journal(path)
    joined = [e for e in entries if e["type"] == "observer_joined"]
    assert len(joined) == 1 and joined[0]["at"] == at and joined[0]["user_agent"] == "HeadlessChrome"
    assert len([e for e in entries if e["type"] == "observer_left"]) == 1
    assert all(validate(e) is None for e in entries)


def test_the_report_timeline_says_who_watched_from_a_browser(tmp_path: Path) -> None:
    import subprocess
    import sys

    t = time.time() - 60
    base = {"session": "s", "visit": "abc", "remote": "127.0.0.1", "user_agent": "HeadlessChrome/156 " + "x" * 200,
            "by": "bob@bastion"}
    lines = [
        {"ts": t, "type": "session_start", "session": "s", "user": "alice", "host": "bastion", "mode": "driver"},
        {"ts": t + 1, "type": "observer_joined", "at": t + 1, **base},
        {"ts": t + 9, "type": "observer_left", "at": t + 9, "reason": "idle", "duration": 8.0, **base},
    ]
    j = tmp_path / "j.jsonl"
    j.write_text("".join(json.dumps(e) + "\n" for e in lines))
    r = subprocess.run([sys.executable, "-m", "cockpit", "report", str(j)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "browser visitor abc from 127" in r.stdout and "started watching" in r.stdout   # Markdown: 127\\.0.0.1
    assert "bob@bastion" in r.stdout
    assert "stopped watching after 8s: idle" in r.stdout
    assert "x" * 100 not in r.stdout                  # a long user agent is cut
