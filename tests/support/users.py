"""Real Unix users for the multi-user tests (the suite runs as root), and a venv they can run.

`TestUsers` creates users with ``useradd -m`` and a group, runs commands as them with
``runuser -u NAME --`` and removes them afterwards. The project's own venv lives in
root's home (mode 0700, unreadable to others), so `user_venv` builds one from
Debian's ``/usr/bin/python3`` in a directory everybody can read, with this checkout
installed editable (see /work/shared/notes/real-parts-wave2.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"


def user_venv() -> Path:
    """A venv of this checkout readable by every user (built once, then reused while pyproject is unchanged)."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes() + str(REPO).encode()).hexdigest()[:10]
    venv = Path(tempfile.gettempdir()) / f"cockpit-users-venv-{digest}"
    python = venv / "bin" / "python"
    if python.exists() and (venv / ".ready").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO)], check=True,
                   stdout=subprocess.DEVNULL)
    for root, dirs, files in os.walk(venv):
        for name in dirs + files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o044 | (0o011 if os.path.isdir(p) else 0))
    os.chmod(venv, 0o755)
    (venv / ".ready").write_text("ok\n")
    return venv


class TestUsers:
    """Users ``<prefix>a``, ``<prefix>b``, ... and a group; removed by `remove`."""

    __test__ = False

    def __init__(self, names: Sequence[str], group: str) -> None:
        self.names = list(names)
        self.group = group
        self.venv = user_venv()

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def create(self) -> None:
        self.remove()
        subprocess.run(["groupadd", self.group], check=True)
        for name in self.names:
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)

    def remove(self) -> None:
        for name in self.names:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False, capture_output=True)
            subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)
        subprocess.run(["groupdel", self.group], check=False, capture_output=True)

    def uid(self, name: str) -> int:
        import pwd

        return pwd.getpwnam(name).pw_uid

    def argv(self, user: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
        """``runuser`` argv running the cockpit CLI (``args[0] == "-c"``: python code) as ``user``."""
        home = f"/home/{user}"
        base = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": "/usr/bin:/bin",
                "XDG_STATE_HOME": f"{home}/.local/state", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}
        base.update(env or {})
        envs = [f"{k}={v}" for k, v in base.items()]
        if args and args[0] in ("-c", "--script"):     # python code, or a script file and its arguments
            py = [self.python, *args] if args[0] == "-c" else [self.python, *args[1:]]
        else:
            py = [self.python, "-m", "cockpit", *args]
        return ["runuser", "-u", user, "--", "env", "-i", *envs, *py]

    def run(self, user: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(user, *args, env=env), capture_output=True, text=True, timeout=timeout,
                              input=stdin, cwd="/", check=False)

    def popen(self, user: str, *args: str, env: dict[str, str] | None = None,
              stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(user, *args, env=env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=stdin, text=True, cwd="/", start_new_session=True)


@contextmanager
def unix_users(prefix: str, count: int) -> Iterator[TestUsers]:
    names = [f"{prefix}{chr(ord('a') + i)}" for i in range(count)]
    users = TestUsers(names, f"{prefix}grp")
    users.create()
    try:
        yield users
    finally:
        users.remove()


def readable_tmpdir(prefix: str) -> Path:
    """A directory under /tmp every user can traverse and read (pytest's tmp_path is 0700 for root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path
