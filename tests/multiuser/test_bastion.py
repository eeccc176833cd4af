"""#12: one incident place per bastion: the shared directory, its set-up, one driver among all users."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from cockpit.state import SHARED_DIR_MODE, SUBDIRS
from tests.multiuser.conftest import REPO, Bastion, wait_until


def _setup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", "setup-bastion", *args], capture_output=True,
                          text=True, cwd=REPO, check=False)


def test_setup_bastion_makes_the_directory_and_is_idempotent(bastion: Bastion) -> None:
    st = os.stat(bastion.state)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, SHARED_DIR_MODE)
    import grp

    assert grp.getgrgid(st.st_gid).gr_name == bastion.users.group
    for sub in SUBDIRS:
        s = os.stat(bastion.state / sub)
        assert (s.st_gid, stat.S_IMODE(s.st_mode)) == (st.st_gid, SHARED_DIR_MODE)
    again = _setup("--group", bastion.users.group, "--dir", str(bastion.state))
    assert again.returncode == 0, again.stderr
    assert "it already was" in again.stdout
    assert "created" not in again.stdout.replace("created group", "") and "mode 3770\n" not in again.stdout
    (bastion.state / "locks").chmod(0o777)            # damage, then repair: said and done
    fixed = _setup("--group", bastion.users.group, "--dir", str(bastion.state))
    assert f"{bastion.state}/locks: mode 3770" in fixed.stdout, fixed.stdout
    assert stat.S_IMODE(os.stat(bastion.state / "locks").st_mode) == SHARED_DIR_MODE


def test_wrong_mode_or_owner_is_refused_naming_the_fix(bastion: Bastion) -> None:
    a = bastion.users.names[0]
    bastion.state.chmod(0o3777)                                # others could write
    r = bastion.run(a, "run", "prepare", "--profile", str(bastion.profile))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert f"cockpit setup-bastion --group {bastion.users.group} --dir {bastion.state}" in r.stderr, r.stderr
    bastion.state.chmod(SHARED_DIR_MODE)
    os.chown(bastion.state, bastion.users.uid(bastion.users.names[1]), -1)   # owned by a member: refused
    r = bastion.run(a, "run", "prepare", "--profile", str(bastion.profile))
    assert r.returncode != 0 and "owner ckmub" in r.stderr and "setup-bastion" in r.stderr, r.stderr
    os.chown(bastion.state, 0, -1)
    r = bastion.run(a, "run", "prepare", "--profile", str(bastion.profile))
    assert r.returncode == 0 and f"prepared by {a}" in r.stdout, r.stderr


def test_one_driver_among_all_users_and_the_refusal_names_the_holder(bastion: Bastion) -> None:
    a, b, c = bastion.users.names
    copy = bastion.profile.with_name("copy-of-profile.toml")   # b drives a copy: same incident
    copy.write_text(bastion.profile.read_text())
    copy.chmod(0o644)
    driver = bastion.popen(a, "run", "hold", "--profile", str(bastion.profile))
    try:
        assert driver.stdout is not None
        wait_until(lambda: "holding" in driver.stdout.readline(), what="a's step to start")
        for user, path in ((b, copy), (c, bastion.profile), (a, bastion.profile)):
            r = bastion.run(user, "run", "prepare", "--profile", str(path))
            assert r.returncode == 3, (user, r.stdout, r.stderr)
            assert f"locked by {a}@" in r.stderr and " since " in r.stderr and "(pid " in r.stderr, r.stderr
            assert "prepared" not in r.stdout
        assert driver.poll() is None        # the holder was alive all along
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
        subprocess.run(["pkill", "-KILL", "-u", a], check=False)   # its step too


def test_personal_directory_still_works_and_says_this_user_only(tmp_path: Path, monkeypatch) -> None:
    from cockpit.profile.load import load_profile
    from cockpit.state import state_for
    from tests.multiuser.conftest import profile_text

    monkeypatch.delenv("COCKPIT_STATE_DIR", raising=False)
    p = tmp_path / "p.toml"
    p.write_text(profile_text(tmp_path))
    assert state_for(load_profile(p)).scope == "this user only"


def test_shared_directory_says_bastion_wide(bastion: Bastion, monkeypatch) -> None:
    from cockpit.controller import Controller
    from cockpit.profile.load import load_profile

    monkeypatch.setenv("COCKPIT_STATE_DIR", str(bastion.state))
    c = Controller(load_profile(bastion.profile))
    assert c.lock_scope == "bastion-wide"
