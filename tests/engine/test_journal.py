"""The journal: durable appends, tolerant reads, open-session rule, follower, no secrets."""

from __future__ import annotations

import json

import pytest

from cockpit.journal import (
    RESUME_WINDOW,
    Journal,
    JournalWarning,
    find_open_session,
    is_open,
    load_journal,
    read_journal,
)
from cockpit.session import JournalFollower, Session


def test_append_then_read_and_cut_line_tolerated(make_profile) -> None:
    profile = make_profile()
    j = Journal.create(profile)
    j.append("session_start", user="u", host="h", mode="driver")
    j.append("rollback_start")
    j.close()
    assert j.path.name.startswith("engine-test-") and j.path.suffix == ".jsonl"
    with j.path.open("ab") as f:
        f.write(b'{"ts": 1.0, "type": "step_st')      # a crash mid-write
    with pytest.warns(JournalWarning, match="last line is cut"):
        entries = read_journal(j.path)
    assert [e["type"] for e in entries] == ["session_start", "rollback_start"]
    assert all(e["session"] == j.path.stem for e in entries)
    warnings: list[str] = []
    read_journal(j.path, on_warning=warnings.append)
    assert len(warnings) == 1


def test_garbage_lines_skipped_with_a_message(tmp_path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"ts":1,"type":"session_start"}\nnot json\n[1,2]\n\xff\xfe\n{"ts":"x","type":"a"}\n'
                     b'{"ts":2,"type":"session_end"}\n')
    contents = load_journal(path)
    assert [e["type"] for e in contents.entries] == ["session_start", "session_end"]
    assert len(contents.problems) == 4 and ":2:" in contents.problems[0]


def test_open_rule() -> None:
    start = {"type": "session_start", "ts": 1}
    end = {"type": "session_end", "ts": 2}
    assert is_open([start])                                        # crashed
    assert not is_open([start, end])                               # quit cleanly, no rollback
    assert is_open([start, {"type": "rollback_start", "ts": 1.5}, end])   # rollback still running
    assert not is_open([start, {"type": "rollback_start", "ts": 1.5}, {"type": "rollback_end", "ts": 1.7}, end])
    assert is_open([start, end, {"type": "session_resume", "ts": 3}])


def test_recent_activity_keeps_a_cleanly_ended_session_open() -> None:
    """Headless prepare steps and post-rollback steps stay in one incident's journal."""
    done = [{"type": "session_start", "ts": 100}, {"type": "step_end", "ts": 110},
            {"type": "session_end", "ts": 120}]
    assert is_open(done, now=120 + 3600)                     # an hour later: same incident
    assert not is_open(done, now=120 + RESUME_WINDOW + 1)    # the next day: a new journal
    assert not is_open(done)                                 # without a clock, only the strict rule
    idle = [{"type": "session_start", "ts": 100}, {"type": "session_end", "ts": 120}]
    assert not is_open(idle, now=130)                        # nothing was done: nothing to resume
    ended = [*done[:2], {"type": "rollback_start", "ts": 111}, {"type": "rollback_end", "ts": 115},
             {"type": "session_end", "ts": 120}]
    assert is_open(ended, now=200)                           # post-rollback steps still to come


def test_find_open_session_and_resume_repairs_cut_line(make_profile) -> None:
    profile = make_profile()
    assert find_open_session(profile) is None
    j = Journal.create(profile)
    j.append("session_start", user="u", host="h", mode="driver")
    j.append("session_end")
    j.close()
    assert find_open_session(profile) is None
    j2 = Journal.create(profile, now=lambda: 2_000_000_000.0)
    j2.append("session_start", user="u", host="h", mode="driver")
    j2.append("rollback_start")
    j2.close()
    with j2.path.open("ab") as f:
        f.write(b'{"ts": 1.0, "ty')
    assert find_open_session(profile) == j2.path
    resumed, entries = Journal.resume(j2.path, profile)
    assert [e["type"] for e in entries] == ["session_start", "rollback_start"]
    resumed.append("session_resume")
    resumed.close()
    lines = j2.path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    types = [json.loads(x)["type"] for x in lines[:-1]]   # every line parses again
    assert types == ["session_start", "rollback_start", "journal_repaired", "session_resume"]
    assert json.loads(lines[2])["dropped_bytes"] == len(b'{"ts": 1.0, "ty')


def test_follower_yields_whole_entries_only(tmp_path) -> None:
    path = tmp_path / "j.jsonl"
    follower = JournalFollower(path)
    assert follower.poll() == []            # no file yet
    with path.open("ab") as f:
        f.write(b'{"ts":1,"type":"session_start","user":"a","host":"b","mode":"driver"}\n{"ts":2,"type":"rollb')
        f.flush()
        first = follower.poll()
        assert [e["type"] for e in first] == ["session_start"]
        f.write(b'ack_start"}\n')
        f.flush()
        second = follower.poll()
    assert [e["type"] for e in second] == ["rollback_start"]
    s = Session.from_entries(first + second)
    assert s.rollback_started == 2 and s.driver == "a@b" and s.rto_elapsed(10) == 8


def test_secrets_redacted_everywhere(make_profile, monkeypatch) -> None:
    monkeypatch.setenv("PROM_TOKEN", "s3cr3t-prom-token")
    monkeypatch.setenv("HOOK", "https://hooks.example/T000/XYZ-secret")
    extra = """
[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9/"
headers = { Authorization = "Bearer ${env:PROM_TOKEN}" }
"""
    steps = """
[[step]]
id = "announce"
title = "Announce"
phase = "communicate"
kind = "slack"
[step.slack]
webhook = "${env:HOOK}"
text = "rollback"
"""
    profile = make_profile(extra=extra, steps=steps)
    j = Journal.create(profile)
    j.append("step_end", hosts=[{"tail": ["Authorization: Bearer s3cr3t-prom-token", "ok"]}],
             reason="posting to https://hooks.example/T000/XYZ-secret failed", note=("s3cr3t-prom-token",))
    j.close()
    raw = j.path.read_text()
    assert "s3cr3t" not in raw and "XYZ-secret" not in raw
    assert raw.count("[redacted]") == 3
