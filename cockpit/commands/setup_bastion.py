"""``cockpit setup-bastion --group G [--dir D] [--member USER ...]``: one incident place per bastion.

Creates (or repairs) the shared state directory: owner root, group G, mode ``3770``
(setgid so every file in it gets group G, sticky so nobody removes or replaces
another's file, nothing at all for users outside G), with its subdirectories for
journals, locks, feeds, approvals and handoffs. Creates the group when missing and
adds the ``--member`` users to it. Idempotent: a second run changes nothing and
says so. Every change is printed.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

from cockpit.exitcodes import Exit
from cockpit.state import ENV_VAR, SHARED_DIR_MODE, SUBDIRS, SYSTEM_DIR


def _say(msg: str) -> None:
    print(f"setup-bastion: {msg}", flush=True)


def _err(msg: str) -> None:
    print(f"cockpit setup-bastion: {msg}", file=sys.stderr, flush=True)


def _ensure_group(name: str) -> int | None:
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        if os.geteuid() != 0:
            _err(f"group {name!r} does not exist; run as root to create it (sudo)")
            return None
        r = subprocess.run(["groupadd", name], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            _err(f"cannot create group {name!r}: {r.stderr.strip()}")
            return None
        gid = grp.getgrnam(name).gr_gid
        _say(f"created group {name} (gid {gid})")
        return gid
    _say(f"group {name} exists (gid {gid})")
    return gid


def _ensure_member(user: str, group: str) -> bool:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        _err(f"no user {user!r}")
        return False
    g = grp.getgrnam(group)
    if user in g.gr_mem or pw.pw_gid == g.gr_gid:
        _say(f"{user} is in group {group}")
        return True
    r = subprocess.run(["usermod", "-aG", group, user], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        _err(f"cannot add {user} to {group}: {r.stderr.strip()}")
        return False
    _say(f"added {user} to group {group} (effective at their next login)")
    return True


def _ensure_dir(path: Path, gid: int, owner: int) -> bool:
    """Make ``path`` a directory owner:gid mode 3770; say what changed. False on a refusal."""
    if path.is_symlink():
        _err(f"{path} is a symbolic link; refusing (remove it first)")
        return False
    changed = []
    if not path.exists():
        path.mkdir(mode=0o700)
        changed.append("created")
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        _err(f"{path} exists and is not a directory")
        return False
    if st.st_uid != owner or st.st_gid != gid:
        os.chown(path, owner, gid)
        changed.append(f"owner {pwd.getpwuid(owner).pw_name}:{grp.getgrgid(gid).gr_name}")
    if stat.S_IMODE(os.lstat(path).st_mode) != SHARED_DIR_MODE:
        os.chmod(path, SHARED_DIR_MODE)
        changed.append(f"mode {SHARED_DIR_MODE:04o}")
    if changed:
        _say(f"{path}: {', '.join(changed)}")
    return True


def main(args: argparse.Namespace) -> int:
    group = str(args.group or "").strip()
    if not group:
        _err("--group NAME is required (the Unix group of the people who may drive or observe)")
        return Exit.USAGE
    path = Path(args.dir or SYSTEM_DIR).expanduser()
    if not path.is_absolute():
        _err(f"--dir must be an absolute path (got {args.dir})")
        return Exit.USAGE
    if os.geteuid() != 0 and (args.member or not path.exists()):
        _err("run it as root (sudo): it creates a group-owned directory and manages group members")
        return Exit.FAILED
    gid = _ensure_group(group)
    if gid is None:
        return Exit.FAILED
    ok = all([_ensure_member(user, group) for user in args.member or []])
    owner = 0 if os.geteuid() == 0 else os.geteuid()
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o755)
            _say(f"created {path.parent}")
        before = path.exists()
        ok = _ensure_dir(path, gid, owner) and ok
        for sub in SUBDIRS:
            ok = ok and _ensure_dir(path / sub, gid, owner)
    except OSError as e:
        _err(f"cannot set up {path}: {e.strerror or e}")
        return Exit.FAILED
    if not ok:
        return Exit.FAILED
    _say(f"{path} is ready{' (it already was)' if before else ''}: owner {pwd.getpwuid(owner).pw_name}, "
         f"group {group}, mode {SHARED_DIR_MODE:04o}; members of {group} share one driver lock, the "
         "journals and the driver's feed; nobody else can read them")
    if path != SYSTEM_DIR:
        _say(f"cockpit finds it through `export {ENV_VAR}={path}` or `state_dir = \"{path}\"` in the "
             "profile's [cockpit] table")
    return Exit.OK
