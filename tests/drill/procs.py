"""Background processes of the drill stack: started in their own process group with a pid file,
stopped by group, and a sweep that finds anything still running from the run directory.

Everything the stack starts has the run directory in its command line or as its working
directory, so ``leftovers(run_dir)`` can prove that teardown left nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def start(
    name: str,
    argv: Sequence[str],
    run_dir: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` detached (own session), log to ``logs/NAME.log``, pid in ``pids/NAME.pid``."""
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    (run_dir / "pids").mkdir(parents=True, exist_ok=True)
    with (run_dir / "logs" / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or run_dir,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run_dir / "pids" / f"{name}.pid").write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc.pid


# Popen objects of processes started by this interpreter, reaped on stop (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _reap() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def stop_group(pgid: int, grace: float = 5.0) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap()
            if not group_members(pgid) and not alive(pgid):
                return
            time.sleep(0.02)
    _reap()


def descendants(pids: set[int]) -> set[int]:
    """Every live descendant of ``pids`` (e.g. sshd's per-connection processes, which run in
    sessions of their own, and the commands they run)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {pid for pid in found if alive(pid)}


def stop_all(run_dir: Path) -> None:
    """Stop every process group with a pid file under ``run_dir/pids`` and their descendants,
    then sweep leftovers."""
    pid_dir = run_dir / "pids"
    leaders: set[int] = set()
    if pid_dir.is_dir():
        for pid_file in pid_dir.glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                leaders.add(int(pid_file.read_text().strip()))
    strays = descendants(leaders) - _ancestors()
    for pgid in sorted(leaders):
        stop_group(pgid)
    if pid_dir.is_dir():
        for pid_file in pid_dir.glob("*.pid"):
            pid_file.unlink(missing_ok=True)
    for pid in [*strays, *leftovers(run_dir)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 3.0
    while (leftovers(run_dir) or any(alive(p) for p in strays)) and time.monotonic() < deadline:
        time.sleep(0.02)
    _reap()


def leftovers(run_dir: Path) -> list[int]:
    """Live processes (other than this one) started from ``run_dir``: in cwd or command line."""
    marker = str(run_dir.resolve())
    mine = _ancestors()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        pid = int(entry.name)
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
            continue
        if (cwd == marker or cwd.startswith(marker + "/") or marker in cmdline) and alive(pid):
            found.append(pid)
    return found


def _ancestors() -> set[int]:
    """This process and its ancestors (a shell whose command line names the run dir is not ours)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


class ProcessDied(RuntimeError):
    """A service exited while we were waiting for it to become ready."""


def died(name: str, run_dir: Path) -> str | None:
    """A message with the log's tail if the process ``name`` started by :func:`start` is gone."""
    pid_file = run_dir / "pids" / f"{name}.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return f"{name}: no pid file"
    _reap()
    if alive(pid):
        return None
    log = run_dir / "logs" / f"{name}.log"
    tail = log.read_text(errors="replace").strip().splitlines()[-8:] if log.exists() else []
    return f"{name} exited during start-up" + (":\n  " + "\n  ".join(tail) if tail else " (empty log)")


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    interval: float = 0.05,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``predicate()`` until it is truthy, else raise TimeoutError naming ``what``.

    ``abort()`` returning a message stops the wait at once with :class:`ProcessDied`.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if abort is not None and (why := abort()):
            raise ProcessDied(why)
        try:
            if predicate():
                return
        except Exception as e:  # a service that is not up yet refuses, resets, 500s...
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s" + (f" (last error: {last})" if last else ""))
