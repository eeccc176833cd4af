"""`cockpit status`, `cockpit run` and the controller against hostile servers, through the real CLI.

Each subprocess runs under an address-space cap (prlimit), so a regression fails
the test instead of taking the shared machine down. Figures: tests/bench/bounds.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from tests.conftest import REPO
from tests.support.hostile import Hostile, peak_rss_of, running_hostile

TIMEOUT = 4.0  # generous: a good answer must fit in it even on a loaded 2-core machine
MARGIN = 3.0  # seconds beyond deadline + the same command's own run against a good server (loaded machine)

PROFILE = '''
[cockpit]
name = "bounds-test"
environment = "drill"
refresh = "1s"

[sources.prom]
kind = "prometheus"
url = "{url}"
timeout = "{timeout}"

[sources.blue]
kind = "http"
url = "{url}"
timeout = "{timeout}"

[[signal]]
id = "queues"
source = "prom"
query = "sum(up)"

[[signal]]
id = "lag"
source = "blue"
field = "json:data.result.0.value.1"

[[signal]]
id = "healthz"
source = "blue"
field = "status"

[[check]]
signal = "queues"
title = "Queues < 100"
condition = "< 100"

[[check]]
signal = "lag"
title = "Lag < 60"
condition = "< 60"

[[check]]
signal = "healthz"
title = "healthz 200"
condition = "== 200"

[[step]]
id = "announce"
title = "Announce"
phase = "communicate"
kind = "slack"
confirm = "none"
timeout = "{timeout}"

[step.slack]
webhook = "${{env:T_WEBHOOK}}"
text = "Rollback started"
'''


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with running_hostile() as srv:
        yield srv


def write_profile(tmp_path: Path, srv: Hostile) -> Path:
    path = tmp_path / "bounds.toml"
    path.write_text(PROFILE.format(url=srv.url(), timeout=f"{TIMEOUT:g}s"))
    return path


def signal_line(out: str, signal: str) -> str:
    """The line of ``cockpit status`` that shows ``signal``."""
    return next((line for line in out.splitlines() if line.strip().startswith(f"{signal} (")), "")


def cockpit(srv: Hostile, *args: str) -> tuple[int, float, int, str]:
    env = {**os.environ, "NO_COLOR": "1", "T_WEBHOOK": srv.url("/hooks/secret-path")}
    return peak_rss_of([sys.executable, "-m", "cockpit", *args], timeout=60, env=env, cwd=str(REPO))


def test_status_memory_stays_flat_against_an_endless_server(hostile: Hostile, tmp_path: Path):
    profile = str(write_profile(tmp_path, hostile))
    rc, took_ok, peak_ok, out = cockpit(hostile, "status", "--profile", profile)
    assert rc == 0, out
    hostile.set("endless")
    rc, took, peak, out = cockpit(hostile, "status", "--profile", profile)
    assert rc == 1, out
    assert "answer over 4 MB" in signal_line(out, "queues"), out  # the prometheus signal
    assert "answer over 4 MB" in signal_line(out, "lag"), out     # the http json one
    assert "answer" not in signal_line(out, "healthz"), out       # a status probe reads no body
    assert "Traceback" not in out
    assert peak - peak_ok < 64 * 1024, (peak_ok, peak)  # KiB: under 64 MB more than a good answer costs
    assert took < took_ok + TIMEOUT + MARGIN, (took_ok, took)


@pytest.mark.parametrize("mode", ["trickle", "hang"])
def test_status_exits_at_the_deadline_against_a_slow_server(mode: str, hostile: Hostile, tmp_path: Path):
    profile = str(write_profile(tmp_path, hostile))
    rc, took_ok, _, out = cockpit(hostile, "status", "--profile", profile)
    assert rc == 0, out
    hostile.set(mode, trickle_every=0.2)
    rc, took, _, out = cockpit(hostile, "status", "--profile", profile)
    assert rc == 1, out
    reason = "no full answer within 4s (" if mode == "trickle" else "no answer within 4s"
    assert reason in signal_line(out, "queues") and reason in signal_line(out, "lag"), out
    assert "Traceback" not in out
    assert took < took_ok + TIMEOUT + MARGIN, (took_ok, took)


def test_run_exits_at_the_deadline_against_a_trickling_webhook(hostile: Hostile, tmp_path: Path):
    profile = str(write_profile(tmp_path, hostile))
    rc, took_ok, _, out = cockpit(hostile, "run", "announce", "--profile", profile, "--yes")
    assert rc == 1, out  # the stub answers Prometheus JSON, not Slack's "ok": the step fails, quickly
    hostile.set("trickle", trickle_every=0.2)
    rc, took, _, out = cockpit(hostile, "run", "announce", "--profile", profile, "--yes")
    assert rc == 1, out
    assert "no full answer within 4s" in out
    assert "secret-path" not in out and "Traceback" not in out
    # the checks are sampled first (one deadline), then the step posts (another)
    assert took < took_ok + 2 * TIMEOUT + MARGIN, (took_ok, took)


async def test_controller_stop_never_waits_for_a_stuck_request(hostile: Hostile, tmp_path: Path):
    hostile.set("hang")
    path = tmp_path / "bounds.toml"
    path.write_text(PROFILE.format(url=hostile.url(), timeout="60s"))
    before = set(threading.enumerate())
    c = Controller(load_profile(path))
    await c.start(connect=False, poll=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, hostile.wait_requests, 3)
    finally:
        t = time.monotonic()
        await c.stop()
        took = time.monotonic() - t
    assert took < 1.0, took
    left = [th for th in threading.enumerate() if th not in before and th.is_alive() and not th.daemon
            and not th.name.startswith("asyncio_")]  # the idle default executor of this test's own wait
    assert not left, [th.name for th in left]  # nothing the interpreter would join at exit
