"""Rolling batches on 20 real sshd hosts: sizes, the failure budget, the gate on live data, stopping.

The gate's check reads a real HTTP endpoint polled by the controller; the journal is read back.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.batches import BatchEvent
from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.profile.load import load_profile, parse_profile
from cockpit.targets import where_it_runs
from tests.runner.cluster import SshdCluster, running_cluster
from tests.runner.helpers import HOSTS
from tests.support.httpstub import HttpStub, running_stub

ADDR = "$(echo $SSH_CONNECTION | cut -d' ' -f3)"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with running_cluster(tmp_path_factory.mktemp("batch-sshd"), HOSTS) as cluster:
        yield cluster


@pytest.fixture
def stub() -> Iterator[HttpStub]:
    with running_stub() as s:
        yield s


def profile_text(fleet: SshdCluster, stub: HttpStub, marks: Path, command: str, step_extra: str = "") -> str:
    hosts = ", ".join(f'"{h}"' for h in HOSTS)
    return f"""
[cockpit]
name = "batch-test"
environment = "drill"

[ssh]
config = "{fleet.ssh_config}"
known_hosts = "{fleet.known_hosts}"
connect_timeout = "10s"

[hosts]
fleet = [{hosts}]

[vars]
marks = "{marks}"

[sources.blue]
kind = "http"
url = "{stub.url('/healthz')}"
interval = "100ms"
timeout = "3s"

[[signal]]
id = "healthz"
source = "blue"

[[check]]
signal = "healthz"
condition = "== 200"

[[step]]
id = "roll"
title = "Roll out"
phase = "rollback"
hosts = "fleet"
confirm = "none"
command = "{command}"
batch = [1, "10%", "25%"]
{step_extra}
"""


@pytest.fixture
def make(tmp_path: Path, fleet: SshdCluster, stub: HttpStub) -> Callable[..., Any]:
    marks = tmp_path / "marks"
    marks.mkdir()

    def build(command: str, step_extra: str = "") -> Any:
        path = tmp_path / "p.toml"
        path.write_text(profile_text(fleet, stub, marks, command, step_extra))
        return load_profile(path)

    build.marks = marks  # type: ignore[attr-defined]
    return build


async def fire(profile: Any, *, during: Callable[[Controller, BatchEvent], None] | None = None) -> tuple[
        Any, Controller, list[BatchEvent]]:
    c = Controller(profile)
    events: list[BatchEvent] = []

    def seen(e: BatchEvent) -> None:
        events.append(e)
        if during is not None:
            during(c, e)

    c.on_batch(seen)
    await c.start(connect=False, poll=True)
    try:
        result = await asyncio.wait_for(c.fire("roll"), 120)
    finally:
        await c.stop()
    return result, c, events


def batch_entries(c: Controller) -> list[dict[str, Any]]:
    assert c.journal is not None
    return [e for e in read_journal(c.journal.path) if e["type"] == "batch"]


async def test_batches_run_in_order_behind_a_gate_and_are_journalled(make: Callable[..., Any]) -> None:
    marks = make.marks  # type: ignore[attr-defined]
    profile = make(f"date +%s.%N > {{marks}}/{ADDR} && echo done",
                   '[step.gate]\nchecks = ["healthz"]\nsamples = 2\ntimeout = "30s"\n')
    assert where_it_runs(profile, profile.step("roll")).startswith(
        "in 6 batches of 1, 2, 5, 5, 5, 2 hosts (max_fail 0; gate: healthz ×2 within 30s): h01, h02,")
    result, c, events = await fire(profile)
    assert result.state == "ok", result.reason
    assert len(result.hosts) == 20
    batches = result.detail["batches"]
    assert [b["hosts"] for b in batches] == [1, 2, 5, 5, 5, 2]
    assert all(b["gate_passed"] for b in batches[:-1]) and batches[-1]["gate_wait"] is None
    assert all(b["gate_wait"] > 0 for b in batches[:-1])
    # a batch starts only after the previous one ended and its gate passed: host times are ordered
    done = {h: float((marks / f"127.0.2.{int(h[1:])}").read_text()) for h in HOSTS}
    order = list(HOSTS)
    cut = [1, 3, 8, 13, 18, 20]
    for a, b in itertools.pairwise(cut):
        assert max(done[h] for h in order[:a]) < min(done[h] for h in order[a:b]), (a, b)
    kinds = [(e.event, e.index) for e in events]
    assert kinds[:4] == [("batch_start", 1), ("batch_end", 1), ("gate_start", 1), ("gate_end", 1)]
    assert kinds[-2:] == [("batch_start", 6), ("batch_end", 6)]
    entries = batch_entries(c)
    assert [(e["event"], e["batch"]) for e in entries] == kinds
    assert entries[3]["passed"] is True and "healthz: ok on 2 fresh samples" in entries[3]["reason"]


async def test_the_failure_budget_stops_the_rollout(make: Callable[..., Any]) -> None:
    # h02, h04, h06 fail: batch 2 (h02, h03) has 1 failure (budget 10% = 2 hosts), batch 3 (h04-h08) 2 more
    fail = "case " + ADDR + " in 127.0.2.2|127.0.2.4|127.0.2.6) exit 3;; esac; echo ok"
    result, c, _events = await fire(make(fail, 'max_fail = "10%"'))
    assert result.state == "partial"
    states = {h.host: h.state for h in result.hosts}
    assert [states[h] for h in ("h01", "h02", "h03")] == ["ok", "failed", "ok"]
    assert {states[h] for h in ("h04", "h06")} == {"failed"}
    assert all(states[f"h{i:02d}"] == "skipped" for i in range(9, 21))
    why = "stopped after batch 3 of 6: 3 hosts failed, more than max_fail 10% (2 of 20)"
    assert result.detail["stopped"] == why
    assert why in (result.reason or "")
    skipped = next(h for h in result.hosts if h.host == "h20")
    assert skipped.error == f"not run: {why}"
    assert batch_entries(c)[-1] == {**batch_entries(c)[-1], "event": "stopped", "batch": 3, "reason": why}
    end = next(e for e in read_journal(c.journal.path) if e["type"] == "step_end")  # type: ignore[union-attr]
    assert end["state"] == "partial" and end["detail"]["stopped"] == why


async def test_a_gate_that_does_not_pass_stops_the_rollout(make: Callable[..., Any], stub: HttpStub) -> None:
    stub.set(status=500)
    profile = make("echo ok", '[step.gate]\nchecks = ["healthz"]\nsamples = 2\ntimeout = "1s"\n')
    result, c, _ = await fire(profile)
    assert result.state == "partial"
    assert [h.state for h in result.hosts].count("ok") == 1  # batch 1 only
    assert [h.state for h in result.hosts].count("skipped") == 19
    stopped = str(result.detail["stopped"])
    assert stopped.startswith("gate after batch 1 of 6 did not pass: gate not met within 1s: healthz: 0 of 2 "
                              "samples ok (now failing"), stopped
    gate_end = next(e for e in batch_entries(c) if e["event"] == "gate_end")
    assert gate_end["passed"] is False and gate_end["waited"] >= 1.0
    assert result.detail["batches"][0]["gate_passed"] is False


async def test_stop_after_the_current_batch_versus_cancel_at_once(make: Callable[..., Any]) -> None:
    def stop_in_batch_2(c: Controller, e: BatchEvent) -> None:
        if (e.event, e.index) == ("batch_start", 2):
            assert c.stop_after_batch("roll")

    result, c, _ = await fire(make("sleep 0.3; echo ok"), during=stop_in_batch_2)
    states = [h.state for h in result.hosts]
    assert states[:3] == ["ok", "ok", "ok"]  # batch 2 finished
    assert states[3:] == ["skipped"] * 17
    assert result.state == "partial"
    assert result.detail["stopped"] == "stopped by the operator after batch 2 of 6"
    assert batch_entries(c)[-1]["event"] == "stopped"

    def cancel_in_batch_2(c: Controller, e: BatchEvent) -> None:
        if (e.event, e.index) == ("batch_start", 2):
            asyncio.get_running_loop().call_later(0.2, c.cancel, "roll")

    result, _c, _ = await fire(make("sleep 5; echo ok"), during=cancel_in_batch_2)
    by_host = {h.host: h for h in result.hosts}
    assert result.state == "cancelled"
    assert by_host["h01"].state == "ok"  # batch 1 had finished
    assert by_host["h02"].state == by_host["h03"].state == "cancelled"  # batch 2 stopped mid-command
    assert by_host["h02"].duration < 4
    assert by_host["h20"].state == "skipped" and by_host["h20"].error == "not run: the step was cancelled"


def test_batch_settings_are_validated() -> None:
    base = """
[cockpit]
name = "t"
environment = "drill"

[hosts]
web = ["a", "b"]

[[signal]]
id = "s"
source = "p"
query = "up"

[sources.p]
kind = "prometheus"
url = "http://127.0.0.1:9"

[[check]]
signal = "s"
condition = "< 1"

[[step]]
id = "x"
title = "x"
phase = "rollback"
hosts = "web"
command = "true"
"""

    def problems(extra: str) -> list[str]:
        _, found = parse_profile((base + extra).encode(), "/p/p.toml")
        return [p.format("p.toml") for p in found]

    assert problems('batch = [0, "10%"]') == ["p.toml:28: step \"x\": batch: 0 hosts: must be 1 or more"]
    assert problems('batch = ["150%"]') == ['p.toml:28: step "x": batch: "150%": a percentage must be above 0 '
                                           'to 100%']
    assert problems('run = "serial"\nbatch = [1]') == [
        'p.toml:29: step "x": batch: batch is for ssh steps with run = "parallel" and ansible steps (this one: '
        'kind = "ssh", run = "serial")']
    assert problems('max_fail = "10%"') == [
        'p.toml:28: step "x": max_fail: max_fail needs batch (the budget is checked between batches)']
    assert problems('batch = [1]\n[step.gate]\nchecks = ["nope"]') == [
        'p.toml:30: step "x": gate.checks[0]: unknown check "nope" (known: s)']
    assert problems('batch = [1]\nmax_fail = "10%"\n[step.gate]\nchecks = ["s"]\ntimeout = "10s"') == []


def test_cockpit_run_prints_each_batch_and_gate(make: Callable[..., Any], tmp_path: Path) -> None:
    from tests.engine.conftest import cockpit

    make("echo ok", '[step.gate]\nchecks = ["healthz"]\nsamples = 1\ntimeout = "30s"\n')
    proc = cockpit("run", "roll", "--profile", str(tmp_path / "p.toml"), "--yes", timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if ": roll: batch " in line]
    assert lines[0] == "cockpit run: roll: batch 1/6: starting on 1 host"
    assert lines[1] == "cockpit run: roll: batch 1/6: 1 ok, 0 failed"
    assert lines[2] == "cockpit run: roll: batch 1/6: waiting for the gate (healthz)"
    assert lines[3].startswith("cockpit run: roll: batch 1/6: gate passed after ")
    assert lines[-1] == "cockpit run: roll: batch 6/6: 2 ok, 0 failed"
    assert "roll: ok" in proc.stdout


def test_cockpit_run_ctrl_backslash_stops_after_the_batch(make: Callable[..., Any], tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.engine.conftest import REPO

    make("sleep 0.5; echo ok")
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "roll", "--profile", str(tmp_path / "p.toml"),
                             "--yes"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "roll: batch 2/6: starting" in line:
            proc.send_signal(signal.SIGQUIT)  # Ctrl-\
            break
    out, err = proc.communicate(timeout=60)
    text = "".join(seen) + err
    assert proc.returncode == 1, text
    assert "stopping after the current batch (Ctrl-C stops at once)" in text
    assert "roll: batch 2/6: 2 ok, 0 failed" in text
    assert "roll: batch 2/6: stopped by the operator after batch 2 of 6" in text
    assert "batch 3/6" not in text
    assert "roll: partial" in out
