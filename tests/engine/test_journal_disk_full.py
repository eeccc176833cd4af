"""#11.4: a journal write that fails (a real disk full: a tiny tmpfs) loses nothing it acknowledged.

The file is cut back to its last whole entry, the journal says it is broken, the
guard refuses to fire (never act without a record) until a write succeeds, and
the first write that succeeds records the gap and what was held meanwhile.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.journal import Journal, load_journal
from cockpit.report import render_markdown
from cockpit.state import journals_dir
from tests.engine.conftest import cockpit
from tests.support.tinyfs import TinyFs, tiny_tmpfs

BIG = "y" * 3000


@pytest.fixture
def disk() -> Iterator[TinyFs]:
    """The journals directory is a 64 KiB tmpfs."""
    with tiny_tmpfs(journals_dir()) as fs:
        yield fs


def pad_to_page(j: Journal) -> None:
    """Append a whole entry that ends the file on a page boundary: once the disk is full, nothing fits."""
    size = j.path.stat().st_size
    probe = {"ts": 1_700_000_000.5, "type": "connection", "session": j.session, "host": "pad", "event": "pad",
             "detail": ""}
    need = 4096 - (size + len(json.dumps(probe, separators=(",", ":")) + "\n")) % 4096
    j.append("connection", ts=1_700_000_000.5, host="pad", event="pad", detail="p" * need)
    assert j.path.stat().st_size % 4096 == 0


def _whole(path: Path) -> list[str]:
    contents = load_journal(path)
    assert contents.problems == [], contents.problems
    assert path.read_bytes().endswith(b"\n")
    return [e["type"] for e in contents.entries]


def test_partial_write_then_enospc_leaves_whole_entries_and_the_next_write_records_the_gap(
        make_profile, disk: TinyFs) -> None:
    j = Journal.create(make_profile())
    j.append("session_start", user="u", host="h")
    disk.fill()
    # larger than what is left of the file's last page: written in part, then ENOSPC
    with pytest.raises(OSError, match="No space left on device"):
        j.append("step_end", step="prepare", state="ok", hosts=[{"host": "local", "tail": [BIG] * 4}])
    assert _whole(j.path) == ["session_start"]
    assert j.broken is not None and "No space left on device" in j.broken
    # still full: the next entry is not glued onto a fragment either
    with pytest.raises(OSError):
        j.append("connection", host="web-1", event="down", detail="x" * 5000)
    assert _whole(j.path) == ["session_start"]
    assert j.pending == 2
    disk.free()
    j.append("manual_tick", step="scale", note="done")
    assert j.broken is None and j.pending == 0
    assert _whole(j.path) == ["session_start", "journal_recovered", "step_end", "connection", "manual_tick"]
    recovered = load_journal(j.path).entries[1]
    assert recovered["late"] == 2 and "No space left on device" in recovered["reason"]
    assert "could not be written" in render_markdown(load_journal(j.path).entries)
    j.close()


STEPS = """
[[step]]
id = "big"
title = "A step whose start entry does not fit in what is left"
phase = "prepare"
kind = "local"
confirm = "none"
command = "touch {marks}/ran # PADDING"
"""


async def test_the_guard_refuses_while_the_journal_cannot_be_written_then_fires_once_it_can(
        make_profile, marker_dir: Path, disk: TinyFs) -> None:
    profile = make_profile(steps=STEPS.replace("PADDING", "p" * 6000))
    c = Controller(profile)
    told: list[str | None] = []
    c.on_journal_problem(told.append)
    await c.start(connect=False, poll=False)
    try:
        assert c.journal is not None
        pad_to_page(c.journal)
        disk.fill()
        refused = await c.fire("big")
        assert refused.state == "refused"
        assert refused.reason is not None
        assert refused.reason.startswith("journal cannot be written: No space left on device")
        assert not (marker_dir / "ran").exists(), "a step ran without its start on disk"
        assert c.journal_problem is not None and told and told[-1] is not None
        assert c.decide("prepare").reason.startswith("journal cannot be written")
        assert _whole(c.journal.path) == ["session_start", "connection"]
        assert not (await c.fire("big")).ok         # still full: retried, refused again
        assert not (marker_dir / "ran").exists()
        disk.free()
        result = await c.fire("big")                # the retry before the action succeeds
        assert result.ok, result.reason
        assert (marker_dir / "ran").exists()
        assert told[-1] is None and c.journal_problem is None
        types = _whole(c.journal.path)
        assert types[:3] == ["session_start", "connection", "journal_recovered"]
        assert types[-3:] == ["step_start", "step_process", "step_end"]
        assert "guard_refused" in types             # the refusals were held, then written late
    finally:
        await c.stop()


def test_cli_run_on_a_full_disk_is_refused_and_says_why(make_profile, marker_dir: Path, disk: TinyFs) -> None:
    profile = make_profile(steps=STEPS.replace("PADDING", ""))
    disk.fill()
    r = cockpit("run", "big", "--profile", profile.path, "--yes", env={"XDG_STATE_HOME": os.environ["XDG_STATE_HOME"]})
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "refused: journal cannot be written: No space left on device" in r.stderr
    assert "not recorded" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (marker_dir / "ran").exists()
    disk.free()
    r = cockpit("run", "big", "--profile", profile.path, "--yes")
    assert r.returncode == 0, r.stderr
    assert (marker_dir / "ran").exists()
