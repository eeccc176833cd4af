"""Fixtures for the engine tests: a real sshd on loopback and profiles written as TOML files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from tests.support.poll import wait_until  # noqa: F401 (re-exported to the tests here)
from tests.support.sshd import TestSshd, running_sshd

HOSTS = {"web-1": "127.0.1.1", "web-2": "127.0.1.2"}
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd"), HOSTS) as server:
        yield server


def profile_text(*, ssh: TestSshd | None, marker_dir: Path, steps: str = "", extra: str = "",
                 environment: str = "drill", name: str = "engine-test") -> str:
    ssh_table = ""
    if ssh is not None:
        ssh_table = (f'[ssh]\nconfig = "{ssh.ssh_config}"\nknown_hosts = "{ssh.known_hosts}"\n'
                     f'client_keys = ["{ssh.client_key}"]\nconnect_timeout = "20s"\n\n')
    return f"""
[cockpit]
name = "{name}"
environment = "{environment}"
rto = "15m"

{ssh_table}[hosts]
web = ["web-1", "web-2"]
console = ["web-1"]

[vars]
marks = "{marker_dir}"

{extra}

[[step]]
id = "prepare"
title = "Prepare (local)"
phase = "prepare"
kind = "local"
command = "echo prepared"
confirm = "none"

[[step]]
id = "touch"
title = "Touch a marker on every web host"
phase = "rollback"
hosts = "web"
command = "touch {{marks}}/touched-$(echo $SSH_CONNECTION | cut -d' ' -f3) && echo touched"
starts_rollback = true

[[step]]
id = "destroy"
title = "Destructive, typed"
phase = "rollback"
hosts = "console"
run = "once"
destructive = true
confirm = "type"
after = ["touch"]
command = "touch {{marks}}/destroyed && echo destroyed"

[[step]]
id = "finish"
title = "Finish (local)"
phase = "validate"
kind = "local"
command = "echo done"
confirm = "none"
ends_rollback = true
{steps}
"""


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


@pytest.fixture
def make_profile(tmp_path: Path, marker_dir: Path) -> Callable[..., Profile]:
    def make(ssh: TestSshd | None = None, filename: str = "profile.toml", **kw: str) -> Profile:
        path = tmp_path / filename
        path.write_text(profile_text(ssh=ssh, marker_dir=marker_dir, **kw))
        return load_profile(path)

    return make


def cockpit(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "cockpit", *args], check=False, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO, stdin=stdin)


