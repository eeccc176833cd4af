"""#11.10: the state directory and its files are trusted only when they are ours (or the bastion group's).

Each test plants what an attacker (another Unix user, created for real) would, then runs the
real CLI: the cockpit refuses with a message naming the file and the fix, and nothing is
truncated, resumed or run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from cockpit.profile.load import load_profile
from cockpit.state import profile_key
from tests.engine.conftest import cockpit
from tests.support.users import TestUsers, readable_tmpdir, unix_users


@pytest.fixture(scope="module")
def other_user() -> Iterator[TestUsers]:
    with unix_users("ckst", 1) as users:
        yield users


def _as(users: TestUsers, *cmd: str) -> None:
    subprocess.run(["runuser", "-u", users.names[0], "--", *cmd], check=True)


def test_state_dir_precreated_by_another_user_is_refused(other_user, make_profile, marker_dir) -> None:
    base = readable_tmpdir("ckst-xdg-")
    base.chmod(0o1777)
    _as(other_user, "mkdir", "-m", "700", str(base / "cockpit"))   # mallory got there first
    profile = make_profile()
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(base)})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "refusing the state directory" in r.stderr and other_user.names[0] in r.stderr, r.stderr
    assert "prepared" not in r.stdout


def test_state_dir_writable_by_others_is_refused_with_the_fix(make_profile, tmp_path) -> None:
    state = tmp_path / "xdg" / "cockpit"
    state.mkdir(parents=True)
    state.chmod(0o777)
    profile = make_profile()
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "others can write" in r.stderr and f"chmod 700 {state}" in r.stderr, r.stderr


def test_lock_symlink_to_a_root_file_is_refused_not_truncated(make_profile, tmp_path) -> None:
    xdg = tmp_path / "xdg"
    profile = make_profile()
    locks = xdg / "cockpit" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    (xdg / "cockpit").chmod(0o700)
    victim = tmp_path / "root-owned-config"
    victim.write_text("precious\n")
    (locks / f"{profile_key(profile)}.lock").symlink_to(victim)
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "symbolic link" in r.stderr, r.stderr
    assert victim.read_text() == "precious\n"          # before the fix: truncated, then overwritten
    assert "prepared" not in r.stdout


def test_planted_journal_of_another_user_is_not_resumed(other_user, make_profile, tmp_path) -> None:
    xdg = readable_tmpdir("ckst-xdg-")
    profile = make_profile()
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    assert r.returncode == 0, r.stderr
    journals = xdg / "cockpit" / "journals"
    planted = journals / f"{profile_key(profile)}-29991231T000000Z.jsonl"   # sorts last: newest
    entry = {"ts": 9e9, "type": "session_start", "session": planted.stem, "user": "mallory", "host": "x",
             "mode": "driver", "environment": "drill"}
    planted.write_text(json.dumps(entry) + "\n" + json.dumps({**entry, "type": "rollback_start"}) + "\n")
    os.chown(planted, other_user.uid(other_user.names[0]), -1)
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert str(planted) in r.stderr and other_user.names[0] in r.stderr, r.stderr
    assert len(planted.read_text().splitlines()) == 2     # nothing appended to it


def test_planted_journal_symlink_is_refused(make_profile, tmp_path) -> None:
    xdg = tmp_path / "xdg"
    profile = make_profile()
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    assert r.returncode == 0, r.stderr
    target = tmp_path / "elsewhere.jsonl"
    target.write_text(json.dumps({"ts": 1.0, "type": "rollback_start", "session": "x"}) + "\n")
    link = xdg / "cockpit" / "journals" / f"{profile_key(load_profile(profile.path))}-29991231T000000Z.jsonl"
    link.symlink_to(target)
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    assert r.returncode != 0 and "symbolic link" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(target.read_text().splitlines()) == 1


def test_fresh_state_files_are_private(make_profile, tmp_path) -> None:
    xdg = tmp_path / "xdg"
    profile = make_profile()
    old = os.umask(0)
    try:
        r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(xdg)})
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    files = [p for p in (xdg / "cockpit").rglob("*")]
    assert files
    for p in [xdg / "cockpit", *files]:
        assert p.stat().st_mode & 0o077 == 0, f"{p} mode {p.stat().st_mode:o}"


async def test_an_observer_never_follows_a_journal_link_the_lock_names(make_profile, tmp_path) -> None:
    """Sibling of the planted journal: the lock's holder info is not trusted to name what to read."""
    from cockpit.controller import Controller
    from cockpit.lock import DriverLock
    from cockpit.state import state_for

    profile = make_profile()
    secret = tmp_path / "root-only.json"
    secret.write_text(json.dumps({"ts": 1.0, "type": "step_start", "session": "s", "step": "leak",
                                  "command": "the root-only content"}) + "\n")
    journals = state_for(profile).journals
    link = journals / f"{profile_key(profile)}-29991231T000000Z.jsonl"
    link.symlink_to(secret)
    lock = DriverLock.for_profile(profile)
    lock.acquire()
    lock.update(journal=str(link))
    seen: list[dict] = []
    c = Controller(profile, read_only=True)
    c.on_journal(seen.append)
    try:
        await c.start(connect=False, poll=False)
        await c._observe_safely()
        assert seen == [] and "leak" not in c.session.steps
        assert any("symbolic link" in n for n in c.notices), c.notices
    finally:
        await c.stop()
        lock.release()
