"""The driver lock: one driver per profile, holder named, stale locks taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cockpit.lock import DriverLock, LockHeld, read_holder
from cockpit.state import whoami
from tests.engine.conftest import wait_until


def test_second_driver_refused_and_told_who(make_profile) -> None:
    profile = make_profile()
    first = DriverLock.for_profile(profile)
    me = first.acquire(now=1_700_000_000.0)
    second = DriverLock.for_profile(profile)
    try:
        second.acquire()
    except LockHeld as e:
        text = str(e)
        assert e.holder == me
    else:
        raise AssertionError("a second driver got the lock")
    user, host = whoami()
    assert text.startswith(f"locked by {user}@{host} (pid {os.getpid()}) since ")
    assert read_holder(first.path) == me
    first.release()
    assert read_holder(first.path) is None
    assert second.acquire().pid == os.getpid()
    assert second.stale is None  # released cleanly: nothing stale
    second.release()


def test_lock_held_by_another_process_and_freed_when_it_dies(make_profile, tmp_path) -> None:
    profile = make_profile()
    lock = DriverLock.for_profile(profile)
    code = ("import sys,time; from cockpit.lock import DriverLock; l=DriverLock(__import__('pathlib').Path(sys.argv[1]));"
            "l.acquire(); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        holder = read_holder(lock.path)
        assert holder is not None and holder.pid == proc.pid
        try:
            lock.acquire()
            raise AssertionError("lock taken while another process holds it")
        except LockHeld as e:
            assert f"(pid {proc.pid})" in str(e)
    finally:
        proc.kill()
        proc.wait()
    # kill -9 left the holder info behind, but the flock died with the process
    assert json.loads(lock.path.read_text())["pid"] == proc.pid
    wait_until(lambda: read_holder(lock.path) is None, what="the dead holder's flock to go")
    lock.acquire()
    assert lock.stale is not None and lock.stale.pid == proc.pid and not lock.stale.alive()
    lock.release()


def test_stale_lock_file_of_dead_pid_is_taken_over(make_profile) -> None:
    profile = make_profile()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = DriverLock.for_profile(profile)
    lock.path.write_text(json.dumps({"user": "alice", "host": "bastion-1", "pid": dead.pid, "started": 1.0}))
    assert read_holder(lock.path) is None   # nobody holds the flock
    lock.acquire()
    assert lock.stale is not None and lock.stale.user == "alice" and lock.stale.pid == dead.pid
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    lock.release()


def test_garbage_lock_file_is_not_a_traceback(make_profile) -> None:
    profile = make_profile()
    lock = DriverLock.for_profile(profile)
    lock.path.write_bytes(b"\x00\xffnot json")
    lock.acquire()
    assert lock.stale is None and lock.held
    lock.release()


def test_copies_hard_links_and_symlinks_share_one_lock_and_one_journal(make_profile, tmp_path) -> None:
    """The lock is keyed by what the profile drives (name + environment), not by its path."""
    import asyncio

    from cockpit.controller import Controller
    from cockpit.journal import journals_of

    a = make_profile(filename="a.toml")
    copy = make_profile(filename="copy.toml")               # a copy: same name and environment
    (tmp_path / "hard.toml").hardlink_to(a.path)
    (tmp_path / "sym.toml").symlink_to(a.path)
    from cockpit.profile.load import load_profile

    hard, sym = load_profile(tmp_path / "hard.toml"), load_profile(tmp_path / "sym.toml")
    other_env = make_profile(filename="staging.toml", environment="staging")
    locks = [DriverLock.for_profile(p) for p in (a, copy, hard, sym)]
    assert len({lk.path for lk in locks}) == 1
    first = locks[0]
    first.acquire()
    for lk in locks[1:]:
        try:
            lk.acquire()
        except LockHeld as e:
            assert f"(pid {os.getpid()})" in str(e)
        else:
            raise AssertionError("a copy/link of the profile got its own lock")
    staging = DriverLock.for_profile(other_env)      # another environment: another incident
    staging.acquire()
    staging.release()
    first.release()

    async def drive(profile) -> None:
        c = Controller(profile)
        await c.start(connect=False, poll=False)
        assert c.is_driver
        await c.fire("prepare")
        await c.stop()

    asyncio.run(drive(a))
    asyncio.run(drive(copy))   # resumes the same incident journal (recent activity)
    asyncio.run(drive(sym))
    assert len(journals_of(a)) == 1 and journals_of(copy) == journals_of(a) == journals_of(hard)
