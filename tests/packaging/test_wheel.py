"""The installed wheel as a user gets it: built from the tree, installed into a fresh venv, run from elsewhere.

One wheel build and one venv per test session (module-scoped fixture); every command runs
from a temporary directory so the repository's ``profiles/`` cannot be what is found.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import struct
import subprocess
import sys
import termios
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import cockpit
from cockpit.cli import build_parser

REPO = Path(__file__).resolve().parent.parent.parent
ANSI = re.compile(r"\x1b(?:\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMNOcn])")

pytestmark = pytest.mark.timeout(420)  # a cold pip cache on a loaded machine; ~15 s when warm


@dataclass(frozen=True)
class Installed:
    venv: Path
    python: Path
    cockpit: Path
    workdir: Path  # outside the repository

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.cockpit), *args], capture_output=True, text=True, timeout=timeout, check=False,
            cwd=self.workdir, stdin=subprocess.DEVNULL, env=_clean_env(),
        )


def _clean_env() -> dict[str, str]:
    """The test's environment minus anything that could make the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    t0 = time.monotonic()
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        capture_output=True, text=True, timeout=180, check=False, cwd=root,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheels = list(dist.glob("cockpit-*.whl"))
    assert len(wheels) == 1, wheels
    assert wheels[0].name.startswith(f"cockpit-{cockpit.__version__}-")
    t1 = time.monotonic()
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheels[0])],
        capture_output=True, text=True, timeout=180, check=False, cwd=root, env=_clean_env(),
    )
    assert install.returncode == 0, install.stderr[-3000:]
    print(f"\nwheel built in {t1 - t0:.1f}s, fresh venv + install in {time.monotonic() - t1:.1f}s", file=sys.stderr)
    work = root / "elsewhere"
    work.mkdir()
    yield Installed(env_dir, python, env_dir / "bin" / "cockpit", work)
    shutil.rmtree(env_dir, ignore_errors=True)


def test_installed_from_the_wheel_not_the_tree(installed: Installed) -> None:
    r = subprocess.run(
        [str(installed.python), "-c",
         "import cockpit, widgets, cockpit.profile.locate as l; print(cockpit.__file__); print(widgets.__file__);"
         "print(*l.bundled_dirs(), sep='\\n')"],
        capture_output=True, text=True, check=True, cwd=installed.workdir, env=_clean_env(), timeout=60,
    )
    lines = r.stdout.splitlines()
    site = str(installed.venv)
    assert lines[0].startswith(site) and lines[1].startswith(site), lines
    # only the wheel's force-included copy: the repository's profiles/ is not visible from here
    assert lines[2:] == [f"{Path(lines[0]).parent}/bundled_profiles"], lines
    assert str(REPO) not in r.stdout


def test_version_and_every_help(installed: Installed) -> None:
    r = installed.run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"cockpit {cockpit.__version__}"

    parser = build_parser()  # the tree's parser says which options every command must show
    commands: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = [((), parser)]
    i = 0
    while i < len(commands):
        path, p = commands[i]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                commands += [((*path, name), sub) for name, sub in action.choices.items()]
        i += 1
    names = {" ".join(path) for path, _ in commands}
    assert {"", "demo", "check", "status", "run", "report", "profile", "profile init"} <= names

    for path, p in commands:
        r = installed.run(*path, "--help")
        assert r.returncode == 0, (path, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        assert r.stdout.startswith(f"usage: cockpit{' ' if path else ''}{' '.join(path)}"), (path, r.stdout[:200])
        for action in p._actions:
            if action.help == argparse.SUPPRESS:   # refused where written (an option of another command)
                continue
            for option in action.option_strings:
                if option.startswith("--"):
                    assert option in r.stdout, (path, option)
    top = installed.run("--help").stdout
    for name in ("demo", "check", "status", "run", "report", "profile"):
        assert re.search(rf"^\s+{name}\s", top, re.M), name


@pytest.mark.parametrize("name", ["demo", "academy", "drill"])
def test_check_finds_bundled_profiles(installed: Installed, name: str) -> None:
    assert not (installed.workdir / f"{name}.toml").exists()
    r = installed.run("check", name)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"bundled_profiles/{name}.toml: ok (" in r.stdout + r.stderr
    assert str(installed.venv) in r.stdout + r.stderr or "site-packages" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_profile_lists_the_bundled_ones(installed: Installed) -> None:
    r = installed.run("check", "nosuchprofile")
    assert r.returncode == 2
    assert "nosuchprofile" in r.stderr and "academy" in r.stderr and "demo" in r.stderr
    assert "Traceback" not in r.stderr


def test_profile_init_then_check(installed: Installed) -> None:
    target = installed.workdir / "x.toml"
    target.unlink(missing_ok=True)
    r = installed.run("profile", "init", "x.toml")
    assert r.returncode == 0, r.stderr
    assert target.is_file() and "[cockpit]" in target.read_text()
    r = installed.run("check", "x.toml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "x.toml: ok (" in r.stdout + r.stderr
    again = installed.run("profile", "init", "x.toml")  # never overwrites silently
    assert again.returncode != 0 and "Traceback" not in again.stderr


def _own_processes(marker: str) -> list[str]:
    """Command lines of live processes mentioning ``marker`` (our venv): nothing must be left."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = next((ln for ln in (proc / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if marker in cmd and "Z" not in state.split(":", 1)[1][:3]:
            found.append(f"{proc.name}: {cmd}")
    return found


def _read_until(master: int, out: bytearray, done: object, deadline: float) -> bool:
    """Drain the pty into ``out`` until ``done(text)`` or the deadline; whether it was seen."""
    import select

    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out.extend(chunk)
        if done(ANSI.sub("", out.decode("utf-8", "replace"))):  # type: ignore[operator]
            return True
    return bool(done(ANSI.sub("", out.decode("utf-8", "replace"))))  # type: ignore[operator]


def test_demo_draws_its_first_screen_and_quits_cleanly(installed: Installed) -> None:
    """``cockpit demo`` on a real pty (Textual draws on stderr, kept on the pty too)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = {**_clean_env(), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "36"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [str(installed.cockpit), "demo", "--speed", "20"], stdin=slave, stdout=slave, stderr=slave,
        cwd=installed.workdir, env=env, start_new_session=True,
    )
    os.close(slave)
    out = bytearray()
    wanted = ("RTO", "academy-demo", "Pause Horizon on every worker host", "Set OCTANE_ENABLED=false",
              "Horizon queue depth < 100", "DRIVER")
    try:
        seen = _read_until(master, out, lambda text: all(w in text for w in wanted), time.monotonic() + 45)
        text = ANSI.sub("", out.decode("utf-8", "replace"))
        assert seen, f"first screen not drawn; missing {[w for w in wanted if w not in text]}:\n{text[-3000:]}"
        assert proc.poll() is None
        os.write(master, b"q")
        end = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < end:
            _read_until(master, out, lambda _t: False, time.monotonic() + 0.2)
        assert proc.poll() == 0, f"exit status {proc.poll()}"
        _read_until(master, out, lambda _t: False, time.monotonic() + 0.3)  # the last bytes
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    text = ANSI.sub("", out.decode("utf-8", "replace"))
    assert "Traceback" not in text, text[-3000:]
    assert _own_processes(str(installed.venv)) == []


def test_pipx_install(tmp_path: Path) -> None:
    """`pipx install .` works like pip: pipx itself comes from the package registry into a tmp venv."""
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True, timeout=120)
    r = subprocess.run([str(tools / "bin" / "python"), "-m", "pip", "install", "-q", "pipx"],
                       capture_output=True, text=True, timeout=300, check=False, env=_clean_env())
    assert r.returncode == 0, r.stderr[-3000:]
    pipx = str(tools / "bin" / "pipx")
    env = {**_clean_env(), "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man")}
    r = subprocess.run([pipx, "install", str(REPO)], capture_output=True, text=True, timeout=240, check=False,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    v = subprocess.run([str(tmp_path / "bin" / "cockpit"), "--version"], capture_output=True, text=True,
                       timeout=60, check=False, cwd=tmp_path, env=env)
    assert v.returncode == 0 and v.stdout.strip() == f"cockpit {cockpit.__version__}"
    c = subprocess.run([str(tmp_path / "bin" / "cockpit"), "check", "demo"], capture_output=True, text=True,
                       timeout=60, check=False, cwd=tmp_path, env=env)
    assert c.returncode == 0 and "ok (" in c.stdout, c.stdout + c.stderr
