"""Batched ansible steps: ``batch``/``max_fail``/stop-after-batch roll a real playbook out with one
``ansible-playbook --limit`` run per batch, against 6 real loopback hosts (one sshd)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.results import OutputLine
from tests.runner.cluster import SshdCluster, running_cluster

HOSTS = {f"app-{i}": f"127.0.42.{i}" for i in range(1, 7)}

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: leave a marker
      file:
        path: "{{ marks }}/ansible-{{ inventory_hostname }}"
        state: touch
    - name: wait for the go-ahead
      shell: "until [ -e {{ marks }}/go ]; do sleep 0.05; done"
    - name: refuse on the failing host
      command: "false"
      when: inventory_hostname == fail_on
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with running_cluster(tmp_path_factory.mktemp("ansible-fleet"), HOSTS) as cluster:
        yield cluster


def _profile(fleet: SshdCluster, tmp_path: Path, *, fail_on: str, batch: str, max_fail: str) -> Profile:
    (tmp_path / "rollback.yml").write_text(PLAYBOOK)
    marks = tmp_path / "marks"
    marks.mkdir()
    hosts = ", ".join(f'"{h}"' for h in HOSTS)
    path = tmp_path / "p.toml"
    path.write_text(f"""
[cockpit]
name = "ansible-batches"
environment = "drill"

[ssh]
config = "{fleet.ssh_config}"
known_hosts = "{fleet.known_hosts}"
client_keys = ["{fleet.client_key}"]

[hosts]
app = [{hosts}]

[[step]]
id = "play"
title = "Roll back with the playbook, in batches"
phase = "rollback"
kind = "ansible"
hosts = "app"
confirm = "none"
batch = {batch}
max_fail = {max_fail}

[step.ansible]
playbook = "rollback.yml"
extravars = {{ marks = "{marks}", fail_on = "{fail_on}" }}
""")
    return load_profile(path)


async def test_batches_limit_each_run_and_max_fail_stops_the_rollout(fleet: SshdCluster, tmp_path: Path) -> None:
    profile = _profile(fleet, tmp_path, fail_on="app-3", batch="[2]", max_fail="0")
    (tmp_path / "marks" / "go").touch()
    ctrl = Controller(profile)
    lines: list[OutputLine] = []
    ctrl.on_output(lines.append)
    await ctrl.start(connect=False, poll=False)
    try:
        result = await ctrl.fire("play", yes=True)
    finally:
        await ctrl.stop()
    states = {h.host: h.state for h in result.hosts}
    assert states == {"app-1": "ok", "app-2": "ok", "app-3": "failed", "app-4": "ok",
                      "app-5": "skipped", "app-6": "skipped"}, result.reason
    assert result.state == "partial"
    assert "more than max_fail 0" in (result.reason or "")
    # each batch was its own ansible run, limited to its hosts: batch 3 never reached app-5/6
    marks = sorted(p.name for p in (tmp_path / "marks").glob("ansible-*"))
    assert marks == ["ansible-app-1", "ansible-app-2", "ansible-app-3", "ansible-app-4"]
    assert {line.host for line in lines} == {"app-1", "app-2", "app-3", "app-4"}
    batches = [e for e in ctrl.journal_entries() if e["type"] == "batch"]
    assert [(e["event"], e["batch"]) for e in batches] == [
        ("batch_start", 1), ("batch_end", 1), ("batch_start", 2), ("batch_end", 2), ("stopped", 2)]
    assert batches[0]["hosts"] == ["app-1", "app-2"] and batches[2]["hosts"] == ["app-3", "app-4"]
    assert (batches[3]["ok"], batches[3]["failed"]) == (1, 1)
    assert [b["hosts"] for b in result.detail["batches"]] == [2, 2]  # type: ignore[union-attr]


async def test_stop_after_the_running_ansible_batch(fleet: SshdCluster, tmp_path: Path) -> None:
    profile = _profile(fleet, tmp_path, fail_on="none", batch="[3]", max_fail='"50%"')
    ctrl = Controller(profile)
    await ctrl.start(connect=False, poll=False)
    try:
        task = asyncio.create_task(ctrl.fire("play", yes=True))
        deadline = asyncio.get_running_loop().time() + 60
        while len(list((tmp_path / "marks").glob("ansible-*"))) < 3:   # batch 1 is out, waiting for go
            assert asyncio.get_running_loop().time() < deadline, "batch 1 never started"
            await asyncio.sleep(0.05)
        assert ctrl.stop_after_batch("play")
        (tmp_path / "marks" / "go").touch()
        result = await asyncio.wait_for(task, 120)
    finally:
        await ctrl.stop()
    states = [h.state for h in result.hosts]
    assert states == ["ok"] * 3 + ["skipped"] * 3, result.reason
    assert "stopped by the operator after batch 1 of 2" in (result.reason or "")
    entries = ctrl.journal_entries()
    asked = [e for e in entries if e["type"] == "batch" and e["event"] == "stop_asked"]
    assert len(asked) == 1 and asked[0]["batch"] == 1 and asked[0]["batches"] == 2
    assert sorted(p.name for p in (tmp_path / "marks").glob("ansible-*")) == [
        "ansible-app-1", "ansible-app-2", "ansible-app-3"]
