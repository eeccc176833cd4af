"""A rolling step shows which batch is out in the checklist while it runs (the hook for the TUI)."""

from __future__ import annotations

from pathlib import Path

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.tui.app import CockpitApp
from tests.support.sshd import TestSshd
from tests.tui.conftest import until
from widgets.checklist import Checklist


async def test_the_running_batch_is_shown(sshd: TestSshd, tmp_path: Path) -> None:
    flag = tmp_path / "go"
    path = tmp_path / "p.toml"
    path.write_text(f"""
[cockpit]
name = "tui-batch"
environment = "drill"

[ssh]
config = "{sshd.ssh_config}"
known_hosts = "{sshd.known_hosts}"
client_keys = ["{sshd.client_key}"]

[hosts]
web = ["web-1", "web-2"]

[[step]]
id = "roll"
title = "Roll out"
phase = "rollback"
key = "o"
hosts = "web"
confirm = "none"
batch = [1]
command = "until [ -e {flag} ]; do sleep 0.05; done; echo ok"
""")
    profile = load_profile(path)
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)

    def text() -> str:
        return "\n".join(line.plain for line in app.query_one(Checklist).lines())

    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("o")
        await until(lambda: "batch 1/2" in text(), what="batch 1/2 shown")
        flag.touch()
        await until(lambda: controller.step_state("roll") == "ok", what="step ok")
        # the batch is shown while the step runs only: the row says how it ended
        await until(lambda: "batch " not in text() and "ok " in text(), what="the row without its batch")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
