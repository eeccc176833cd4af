"""#11.8: a damaged or hostile journal gives a clear message naming file and line, never a traceback,
and never holds a new incident hostage: `cockpit abandon` closes the old session for good."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cockpit.controller import Controller
from cockpit.journal import find_open_session, journals_of, load_journal, read_journal
from cockpit.lock import DriverLock
from cockpit.profile.model import Profile
from cockpit.state import journals_dir, profile_key
from tests.engine.conftest import cockpit

NOW = time.time()


def plant(profile: Profile, lines: list[str], stamp: str = "20260101T000000Z") -> Path:
    """A journal of ``profile`` with these raw lines, as if a driver had written it."""
    path = journals_dir() / f"{profile_key(profile)}-{stamp}.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def entry(kind: str, ts: float = NOW - 600, **fields: object) -> str:
    return json.dumps({"ts": ts, "type": kind, "session": "planted", **fields})


def open_session(**step_end: object) -> list[str]:
    return [
        entry("session_start", user="alice", host="bastion", mode="driver", profile="engine-test",
              environment="drill", rto_budget=900),
        entry("rollback_start", by="alice@bastion", rto_budget=900),
        entry("step_start", step="touch", hosts=["web-1"], command="touch x"),
        entry("step_end", **{"step": "touch", "state": "ok", "hosts": [], "started": NOW - 650}),
        entry("step_end", **{"step": "ghost", "state": "ok", "hosts": [], **step_end}),   # no start before it
        entry("session_end", user="alice", host="bastion"),
    ]


def test_wrong_field_type_on_resume_is_a_warning_naming_file_and_line(make_profile) -> None:
    """`"started": "abc"` used to raise from the replay on every start for 12 h."""
    profile = make_profile()
    path = plant(profile, open_session(started="abc"))
    r = cockpit("run", "prepare", "--profile", profile.path, "--yes")
    assert "Traceback" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert f"{path}:5: not a valid journal entry (step_end: started must be a finite number, not 'abc')" in r.stderr
    assert "resumed session" in r.stderr
    assert f"`cockpit abandon --profile {profile.path}` closes this one for good" in r.stderr


async def test_wrong_types_in_process_controller_start(make_profile) -> None:
    profile = make_profile()
    path = plant(profile, open_session(started="abc", hosts=[1, 2], duration=[]))
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    try:
        assert c.journal is not None and c.journal.path == path
        assert c.session.rollback_running
        assert any(f"{path}:5:" in n for n in c.notices), c.notices
    finally:
        await c.stop()


def test_report_on_nan_and_huge_timestamps_names_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join([
        entry("session_start", user="a", host="b", mode="driver"),
        '{"ts": NaN, "type": "step_start", "step": "x"}',
        '{"ts": 1e300, "type": "rollback_start"}',
        entry("rollback_end", elapsed=1e300),
        '{"ts": Infinity, "type": "manual_tick", "step": "y"}',
        entry("step_end", step="x", state="ok", duration=float("nan")),
        entry("check_transition", check="c", to="ok", values={"v": 1}),
    ]) + "\n")
    for fmt in ("md", "json"):
        r = cockpit("report", str(path), "--format", fmt)
        assert "Traceback" not in r.stderr
        assert r.returncode == 0, r.stderr
        for n in (2, 3, 4, 5, 6):
            assert f"{path}:{n}: " in r.stderr
    assert "`c`:" in cockpit("report", str(path)).stdout
    json.loads(cockpit("report", str(path), "--format", "json").stdout)    # valid JSON: no NaN in it


def test_an_entry_dated_in_the_future_does_not_hold_the_session_open(make_profile) -> None:
    profile = make_profile()
    plant(profile, [entry("session_start", user="a", host="b"), entry("session_end", user="a", host="b"),
                    entry("manual_tick", ts=NOW + 365 * 86400, step="warm")])
    assert find_open_session(profile, NOW) is None


def test_an_over_long_line_is_skipped_unread(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with path.open("w") as f:
        f.write(entry("session_start", user="a", host="b") + "\n")
        long = '{"ts": 1, "type": "connection", "detail": "' + "x" * (17 << 20) + '"}'
        f.write(long + "\n")
        f.write(entry("session_end", user="a", host="b") + "\n")
    contents = load_journal(path)
    assert [e["type"] for e in contents.entries] == ["session_start", "session_end"]
    assert contents.problems == [f"{path}:2: a line of {len(long)} bytes, over the 16 MiB an entry may have; skipped"]


def test_abandon_closes_the_open_session_and_the_next_driver_starts_a_new_journal(make_profile) -> None:
    profile = make_profile()
    old = plant(profile, open_session())            # rollback started, never ended: open for ever
    assert find_open_session(profile) == old
    r = cockpit("abandon", "--profile", profile.path, "--reason", "handled by hand")
    assert r.returncode == 0, r.stderr
    assert f"closed session planted ({old}): its rollback had not ended" in r.stdout
    assert find_open_session(profile) is None
    last = read_journal(old)[-1]
    assert last["type"] == "session_abandoned" and last["reason"] == "handled by hand"
    r = cockpit("run", "prepare", "--profile", profile.path, "--yes")
    assert r.returncode == 0, r.stderr
    assert "resumed" not in r.stderr
    assert len(journals_of(profile)) == 2
    report = cockpit("report", str(old))
    assert "session closed with `cockpit abandon` by " in report.stdout and "handled by hand" in report.stdout


def test_abandon_refuses_while_a_driver_holds_the_lock(make_profile) -> None:
    profile = make_profile()
    old = plant(profile, open_session())
    lock = DriverLock.for_profile(profile)
    lock.acquire(time.time())
    try:
        r = cockpit("abandon", "--profile", profile.path)
    finally:
        lock.release()
    assert r.returncode == 3, r.stderr
    assert "stop that cockpit first" in r.stderr
    assert find_open_session(profile) == old



def test_an_open_journal_that_cannot_be_reopened_names_it_and_says_what_to_do(make_profile) -> None:
    profile = make_profile()
    path = plant(profile, open_session())
    subprocess.run(["chattr", "+i", str(path)], check=True)     # immutable: even root cannot append
    try:
        r = cockpit("run", "prepare", "--profile", profile.path, "--yes")
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert f"cannot resume the open session {path}: Operation not permitted" in r.stderr
    assert "move the file out of the journals directory to start a new incident" in r.stderr
