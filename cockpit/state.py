"""Where cockpit keeps its state, and whether that place can be trusted.

Two kinds of state directory:

- **bastion-wide** (shared): one directory for every engineer on the machine, for
  journals, driver locks, the driver's sample feed, approvals and handoffs. Chosen by
  ``$COCKPIT_STATE_DIR``, else ``[cockpit] state_dir`` in the profile, else
  ``/var/lib/cockpit`` when it exists. ``cockpit setup-bastion --group G`` makes it:
  owned by root, group G, mode ``3770`` (setgid: every file gets group G; sticky:
  nobody removes or replaces another's file; nothing for users outside the group).
  Files in it are group-readable; journals and locks are group-writable because the
  next driver (any member) appends to the same journal and takes the same lock.
- **this user only** (personal): ``$XDG_STATE_HOME/cockpit`` (default
  ``~/.local/state/cockpit``), mode ``0700``, for a single-user machine.

Trust rules (a planted directory, lock or journal is refused, never used): the
directory must belong to us (personal) or to root/us with the group and mode above
(shared); every file is opened with ``O_NOFOLLOW`` (a symlink is refused, so a lock
can never truncate a file it points to) and checked on the open descriptor:
a regular file, not writable by others, owned by us (personal) or carrying the
directory's group (shared). Refusals raise `StateError` with the command that fixes it.

Locks, journals and feeds are keyed by what the profile drives (its name and
environment), not by its path: copies, hard links and symlinks of a profile share
one lock and one incident journal.
"""

from __future__ import annotations

import getpass
import grp
import hashlib
import os
import pwd
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from cockpit.profile.model import Profile

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SYSTEM_DIR = Path("/var/lib/cockpit")
ENV_VAR = "COCKPIT_STATE_DIR"
SUBDIRS = ("journals", "locks", "feeds", "approvals", "handoffs", "visits")
SHARED_DIR_MODE = 0o3770     # sticky + setgid, rwx for owner and group, nothing for others
SHARED_FILE_MODE = 0o660     # journals and locks: any member may become the driver
SHARED_OWN_FILE_MODE = 0o640  # feeds, approvals, handoffs: only their writer writes
PERSONAL_DIR_MODE = 0o700
PERSONAL_FILE_MODE = 0o600

SCOPE_SHARED = "bastion-wide"
SCOPE_PERSONAL = "this user only"


class StateError(OSError):
    """The state directory or a file in it cannot be trusted or used (the message says how to fix it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _setup_command(path: Path, gid: int | None = None) -> str:
    group = group_name(gid) if gid is not None else "cockpit"
    where = "" if path == SYSTEM_DIR else f" --dir {path}"
    return f"sudo cockpit setup-bastion --group {group}{where}"


def _member_of(gid: int) -> bool:
    return os.geteuid() == 0 or gid == os.getegid() or gid in os.getgroups()


@dataclass(frozen=True)
class StateDir:
    """A checked state directory. ``shared``: bastion-wide (group ``gid``), else this user's only."""

    path: Path
    shared: bool
    gid: int | None = None

    @property
    def scope(self) -> str:
        """``bastion-wide`` or ``this user only`` (shown in the header: who a lock excludes)."""
        return SCOPE_SHARED if self.shared else SCOPE_PERSONAL

    @property
    def file_mode(self) -> int:
        """Mode of journals and locks (the next driver appends to / takes them)."""
        return SHARED_FILE_MODE if self.shared else PERSONAL_FILE_MODE

    @property
    def own_file_mode(self) -> int:
        """Mode of files only their writer writes (feeds, approvals, handoffs)."""
        return SHARED_OWN_FILE_MODE if self.shared else PERSONAL_FILE_MODE

    def sub(self, name: str) -> Path:
        """A checked subdirectory (``journals``, ``locks``, ...)."""
        path = self.path / name
        if not self.shared:
            _personal_dir(path, create=True)
        else:
            _shared_dir(path, self.gid, top=self.path)
        return path

    @property
    def journals(self) -> Path:
        return self.sub("journals")

    @property
    def locks(self) -> Path:
        return self.sub("locks")

    @property
    def feeds(self) -> Path:
        return self.sub("feeds")

    @property
    def approvals(self) -> Path:
        return self.sub("approvals")

    @property
    def handoffs(self) -> Path:
        return self.sub("handoffs")

    # -- files ---------------------------------------------------------------------------------
    def problem(self, st: os.stat_result, path: Path) -> str | None:
        """Why a file with this (fstat/lstat) status must not be used here, or None."""
        if stat.S_ISLNK(st.st_mode):
            return f"{path} is a symbolic link (refused: a planted link could make cockpit overwrite its target)"
        if not stat.S_ISREG(st.st_mode):
            return f"{path} is not a regular file"
        if st.st_mode & 0o002:
            return f"{path} is writable by every user (mode {stat.S_IMODE(st.st_mode):04o})"
        if self.shared:
            if st.st_gid != self.gid:
                return (f"{path} belongs to group {group_name(st.st_gid)}, not {group_name(self.gid or 0)} "
                        "(it was not made by a cockpit of this bastion)")
        else:
            if st.st_uid != os.geteuid():
                return f"{path} belongs to {user_name(st.st_uid)}, not to you ({user_name(os.geteuid())})"
            if st.st_mode & 0o022:
                return f"{path} is writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
        return None

    def check_fd(self, fd: int, path: Path) -> os.stat_result:
        st = os.fstat(fd)
        why = self.problem(st, path)
        if why is not None:
            raise StateError(f"refusing {why}; remove it if you did not put it there")
        return st

    def check_path(self, path: Path) -> os.stat_result:
        """lstat ``path`` and refuse it like `check_fd` (FileNotFoundError when absent)."""
        st = os.lstat(path)
        why = self.problem(st, path)
        if why is not None:
            raise StateError(f"refusing {why}; remove it if you did not put it there")
        return st

    def open(self, path: Path, flags: int, mode: int | None = None) -> int:
        """``os.open`` with ``O_NOFOLLOW``, checked; a file we create gets ``mode`` (default `file_mode`)."""
        mode = self.file_mode if mode is None else mode
        try:
            fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        except OSError as e:
            if e.errno == 40:   # ELOOP: the last component is a symlink
                raise StateError(f"refusing {path}: it is a symbolic link (a planted link could make "
                                 "cockpit overwrite its target); remove it if you did not put it there") from None
            raise
        try:
            st = self.check_fd(fd, path)
            if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != mode and st.st_size == 0:
                os.fchmod(fd, mode)   # we just made it: the umask must not decide who reads it
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write_atomic(self, path: Path, data: bytes, mode: int | None = None) -> None:
        """Replace ``path`` by ``data`` (temporary file + rename: readers see old or new, never half)."""
        mode = self.own_file_mode if mode is None else mode
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read(self, path: Path, limit: int = 4 << 20) -> bytes | None:
        """The bytes of a trusted file (at most ``limit``), None when it is absent."""
        try:
            fd = self.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            chunks: list[bytes] = []
            size = 0
            while size < limit and (chunk := os.read(fd, min(65536, limit - size))):
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)


# -- checks of directories ----------------------------------------------------------------------
def _personal_dir(path: Path, create: bool) -> None:
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=PERSONAL_DIR_MODE)
        except FileExistsError:
            raise StateError(f"cannot use the state directory {path}: it exists and is not a directory") from None
        except NotADirectoryError:
            raise StateError(f"cannot use the state directory {path}: a parent of it is not a directory") from None
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise StateError(f"cannot use the state directory {path}: it is not a directory")
    me = os.geteuid()
    if st.st_uid != me:
        raise StateError(
            f"refusing the state directory {path}: it belongs to {user_name(st.st_uid)}, not to you "
            f"({user_name(me)}). Someone else may have planted it: remove it (or set XDG_STATE_HOME), or "
            f"for a directory shared by a team use `{_setup_command(SYSTEM_DIR)}`")
    if st.st_mode & 0o022:
        raise StateError(
            f"refusing the state directory {path}: others can write to it (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"fix: chmod 700 {path}")


def _shared_dir(path: Path, gid: int | None, top: Path) -> os.stat_result:
    fix = _setup_command(top, gid)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StateError(f"the shared state directory {path} does not exist; create it with `{fix}`") from None
    except PermissionError:
        raise StateError(f"cannot read the shared state directory {path}: you "
                         f"({user_name(os.geteuid())}) are not in its group; ask an administrator to "
                         f"add you: `sudo usermod -aG {group_name(gid) if gid is not None else 'cockpit'} "
                         f"{user_name(os.geteuid())}` (then log in again)") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StateError(f"the shared state directory {path} is not a directory")
    mode = stat.S_IMODE(st.st_mode)
    owner_ok = st.st_uid in (0, os.geteuid())
    if gid is not None and st.st_gid != gid:
        raise StateError(f"refusing the shared state directory {path}: group {group_name(st.st_gid)}, "
                         f"expected {group_name(gid)}; fix: `{fix}`")
    if not owner_ok or mode != SHARED_DIR_MODE:
        raise StateError(
            f"refusing the shared state directory {path}: owner {user_name(st.st_uid)}, mode {mode:04o} "
            f"(expected owner root, mode {SHARED_DIR_MODE:04o}: the group reads and writes, nobody "
            f"else); fix: `{_setup_command(top, st.st_gid)}`")
    if not _member_of(st.st_gid):
        raise StateError(f"you ({user_name(os.geteuid())}) are not in group {group_name(st.st_gid)} of "
                         f"the shared state directory {path}; ask an administrator: "
                         f"`sudo usermod -aG {group_name(st.st_gid)} {user_name(os.geteuid())}`")
    return st


def personal_base() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cockpit"


def chosen_path(profile: Profile | None = None) -> tuple[Path, str]:
    """The state directory to use and why (``env``, ``profile``, ``system`` or ``personal``)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), "env"
    configured = getattr(profile.cockpit, "state_dir", None) if profile is not None else None
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_absolute():
            path = Path(profile.path).parent / path if profile is not None else path
        return path, "profile"
    if SYSTEM_DIR.exists():
        return SYSTEM_DIR, "system"
    return personal_base(), "personal"


def state_for(profile: Profile | None = None) -> StateDir:
    """The checked state directory for ``profile`` (raises `StateError` with the fix)."""
    path, why = chosen_path(profile)
    if why == "personal":
        _personal_dir(path, create=True)
        return StateDir(path, shared=False)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StateError(f"the state directory {path} (from {_origin(why)}) does not exist; create it "
                         f"with `{_setup_command(path)}`") from None
    except PermissionError:
        raise StateError(f"cannot read the state directory {path} (from {_origin(why)}): you are not in its "
                         "group; ask an administrator to add you") from None
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077 and why != "system":
        _personal_dir(path, create=False)    # a private directory named explicitly: this user only
        return StateDir(path, shared=False)
    st = _shared_dir(path, None, path)
    return StateDir(path, shared=True, gid=st.st_gid)


def _origin(why: str) -> str:
    return {"env": f"${ENV_VAR}", "profile": "the profile's state_dir", "system": "the system default"}.get(why, why)


# -- compatibility helpers (per-profile paths) -----------------------------------------------------
def state_dir(profile: Profile | None = None) -> Path:
    """The state directory's path (checked; created when personal)."""
    return state_for(profile).path


def journals_dir(profile: Profile | None = None) -> Path:
    return state_for(profile).journals


def locks_dir(profile: Profile | None = None) -> Path:
    return state_for(profile).locks


def safe_name(name: str) -> str:
    """``name`` usable in a file name (``academy production`` -> ``academy-production``)."""
    return _UNSAFE.sub("-", name).strip("-.") or "profile"


def profile_key(profile: Profile) -> str:
    """``NAME-ENV-HASH``: what the profile drives (its name and environment), never its path.

    Copies, hard links and symlinks of one profile share the key, hence one lock and one
    journal; the hash of the exact (name, environment) pair keeps ``a-b``/``c`` and
    ``a``/``b-c`` apart.
    """
    name, env = profile.cockpit.name, profile.cockpit.environment
    digest = hashlib.sha256(f"{name}\0{env}".encode()).hexdigest()[:8]
    return f"{safe_name(name)}-{safe_name(env)}-{digest}"


def whoami() -> tuple[str, str]:
    """``(user, host)`` of this process."""
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
    return user, socket.gethostname().split(".")[0]
