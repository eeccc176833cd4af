"""``kind = "ansible"``: a real playbook through ansible-runner on the test sshd, like an ssh step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.report import render_markdown
from cockpit.results import OutputLine
from tests.support.sshd import TestSshd

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: where am I
      shell: echo $SSH_CONNECTION | cut -d' ' -f3
    - name: leave a marker
      file:
        path: "{{ marks }}/ansible-{{ inventory_hostname }}"
        state: touch
    - name: refuse on web-2
      command: "false"
      when: inventory_hostname == "web-2"
"""

STEP = """
[[step]]
id = "play"
title = "Roll back with the team's playbook"
phase = "rollback"
kind = "ansible"
hosts = "web"
confirm = "type"

[step.ansible]
playbook = "rollback.yml"
extravars = { marks = "{marks}" }
"""


async def run_play(ctrl: Controller, **kw: Any) -> tuple[Any, list[OutputLine]]:
    lines: list[OutputLine] = []
    ctrl.on_output(lines.append)
    result = await ctrl.fire("play", **kw)
    return result, lines


async def test_a_playbook_runs_per_host_through_the_guard_journal_and_report(
    sshd: TestSshd, make_profile: Any, tmp_path: Path, marker_dir: Path
) -> None:
    (tmp_path / "rollback.yml").write_text(PLAYBOOK)
    profile = make_profile(sshd, steps=STEP)
    ctrl = Controller(profile)
    await ctrl.start(connect=False, poll=False)
    try:
        shown = await ctrl.preview("play")
        assert shown.startswith("$ ansible-playbook rollback.yml --limit web-1,web-2\n"), shown
        assert 'command: "false"' in shown  # the playbook itself is shown before confirming
        refused, _ = await run_play(ctrl)  # typed confirmation, as for a destructive ssh step
        assert refused.state == "refused"
        assert "type" in (refused.reason or "")
        result, lines = await run_play(ctrl, confirmation="drill")
    finally:
        await ctrl.stop()
    assert result.state == "partial", result.reason
    by_host = {h.host: h for h in result.hosts}
    assert by_host["web-1"].state == "ok"
    assert by_host["web-2"].state == "failed"
    assert by_host["web-2"].error == "task 'refuse on web-2' failed: non-zero return code"
    assert (marker_dir / "ansible-web-1").exists() and (marker_dir / "ansible-web-2").exists()
    # per-host task events streamed as they happened, with the task's output
    text = [(line.host, line.text) for line in lines]
    assert ("web-1", "where am I: changed") in text and ("web-1", "  127.0.1.1") in text
    assert ("web-2", "  127.0.1.2") in text
    assert ("web-2", "refuse on web-2: FAILED: non-zero return code") in text
    assert ("web-1", "refuse on web-2: skipped") in text
    assert text.index(("web-1", "where am I: changed")) < text.index(("web-1", "leave a marker: changed"))
    entries = read_journal(ctrl.journal.path)  # type: ignore[union-attr]
    start = [e for e in entries if e["type"] == "step_start" and e["step"] == "play"]
    end = [e for e in entries if e["type"] == "step_end" and e["step"] == "play"]
    assert [e["state"] for e in end] == ["partial"]
    assert start[-1]["kind"] == "ansible" and start[-1]["hosts"] == ["web-1", "web-2"]
    assert start[-1]["command"] == "ansible-playbook rollback.yml --limit web-1,web-2"
    assert any(e["type"] == "guard_refused" and e["step"] == "play" for e in entries)
    hosts = {h["host"]: h for h in end[0]["hosts"]}
    assert "  127.0.1.1" in hosts["web-1"]["tail"]
    report = render_markdown(entries)
    assert "Roll back with the team's playbook" in report or "play" in report
    assert "web-2" in report


async def test_host_keys_are_verified_for_ansible_too(sshd: TestSshd, make_profile: Any, tmp_path: Path) -> None:
    (tmp_path / "rollback.yml").write_text(PLAYBOOK)
    profile = make_profile(sshd, steps=STEP)
    # a known_hosts that holds another key for every host
    other = tmp_path / "known_hosts_other"
    other.write_text(sshd.known_hosts_lines("AAAAC3NzaC1lZDI1NTE5AAAAIHXBbGQ6vbs3wXeIoA4rjDhRW1nWvd4s86ZHs5iG3M1N"))
    text = Path(profile.path).read_text().replace(str(sshd.known_hosts), str(other))
    Path(profile.path).write_text(text)
    from cockpit.profile.load import load_profile

    ctrl = Controller(load_profile(profile.path))
    await ctrl.start(connect=False, poll=False)
    try:
        result, _ = await run_play(ctrl, confirmation="drill")
    finally:
        await ctrl.stop()
    assert result.state == "failed"
    assert all(h.state == "unreachable" for h in result.hosts), result.hosts
    assert all("host key verification failed" in (h.error or "").lower() or "identification has changed" in (h.error or "").lower() for h in result.hosts), [h.error for h in result.hosts]


async def test_ad_hoc_module_and_validation(sshd: TestSshd, make_profile: Any, tmp_path: Path) -> None:
    step = STEP.replace('playbook = "rollback.yml"\nextravars = { marks = "{marks}" }',
                        'module = "shell"\nargs = "echo hello from $(hostname -s)"')
    step = step.replace('confirm = "type"', 'confirm = "none"')
    ctrl = Controller(make_profile(sshd, steps=step))
    await ctrl.start(connect=False, poll=False)
    try:
        result, lines = await run_play(ctrl)
    finally:
        await ctrl.stop()
    assert result.state == "ok", result.reason
    assert {line.host for line in lines if line.text.startswith("  hello from ")} == {"web-1", "web-2"}
