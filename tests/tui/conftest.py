"""Fixtures for the TUI tests: a real sshd, a hanging HTTP source, profiles as TOML files, UTC clock."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from tests.support.httpstub import HttpStub, running_stub
from tests.support.poll import until  # noqa: F401 (re-exported to the tests here)
from tests.support.sshd import TestSshd, running_sshd

HOSTS = {"web-1": "127.0.1.1", "web-2": "127.0.1.2"}


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local: pin them to UTC so snapshots do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd"), HOSTS) as server:
        yield server


@pytest.fixture
def hanging_source() -> Iterator[HttpStub]:
    """An HTTP endpoint that never answers."""
    with running_stub() as stub:
        stub.set(hang=True)
        yield stub


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


def profile_text(sshd: TestSshd, marker_dir: Path, health_url: str, keys: str = "") -> str:
    return f"""
[cockpit]
name = "tui-test"
environment = "drill"
rto = "15m"
refresh = "1s"
{keys}

[ssh]
config = "{sshd.ssh_config}"
known_hosts = "{sshd.known_hosts}"
client_keys = ["{sshd.client_key}"]
connect_timeout = "5s"

[hosts]
web = ["web-1", "web-2"]
console = ["web-1"]

[vars]
marks = "{marker_dir}"

[sources.blue]
kind = "http"
url = "{health_url}"
timeout = "4s"
interval = "1s"

[[signal]]
id = "healthz"
title = "/healthz"
source = "blue"
field = "status"
view = "history"

[[signal]]
id = "healthz_latency"
title = "/healthz latency"
source = "blue"
field = "latency"
unit = "ms"
scale = 1000.0
view = "value"

[[check]]
id = "healthz"
signal = "healthz"
title = "/healthz 200 twice"
condition = "== 200"
consecutive = 2

[[step]]
id = "touch"
title = "Touch a marker on every web host"
phase = "rollback"
key = "t"
hosts = "web"
command = "touch {{marks}}/touched-$(echo $SSH_CONNECTION | cut -d' ' -f3) && echo touched"
note = "Watch the marker files appear."

[[step]]
id = "destroy"
title = "Destructive, typed"
phase = "rollback"
key = "d"
hosts = "console"
run = "once"
destructive = true
confirm = "type"
after = ["touch"]
preview = "echo would destroy {{marks}}"
command = "touch {{marks}}/destroyed && echo destroyed"

[[step]]
id = "hello"
title = "Say hello (local, no confirmation)"
phase = "prepare"
kind = "local"
key = "h"
confirm = "none"
command = "echo hello-from-local"

[[step]]
id = "slow"
title = "A slow step on every web host"
phase = "validate"
key = "w"
hosts = "web"
confirm = "none"
command = "echo started && sleep 60"

[[step]]
id = "signoff"
title = "Sign-off recorded"
phase = "communicate"
kind = "manual"
key = "s"
"""


@pytest.fixture
def make_profile(tmp_path: Path, sshd: TestSshd, marker_dir: Path) -> Callable[..., Profile]:
    def make(health_url: str, keys: str = "") -> Profile:
        path = tmp_path / "profile.toml"
        path.write_text(profile_text(sshd, marker_dir, health_url, keys))
        return load_profile(path)

    return make


@pytest.fixture(autouse=True)
def _no_bench_ready_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_BENCH_READY_FILE", raising=False)
    monkeypatch.delenv("COCKPIT_THEME", raising=False)
    os.environ.pop("NO_COLOR", None)
