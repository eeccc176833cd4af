"""The per-host view (ctrl+o) and "stop after this batch" (ctrl+\\) under Pilot, against a real
fleet: 40 loopback hosts on three real sshds, plus two addresses nobody listens on.

The 1,000-host figures (rows built, painted, scrolled) are in tests/bench/hosts_view.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.hosts import HostsScreen
from tests.runner.cluster import SshdCluster, running_cluster
from tests.tui.conftest import until
from widgets.checklist import Checklist
from widgets.hosts import HostList

FLEET = {f"fleet-{i:02d}": f"127.0.40.{i}" for i in range(1, 41)}
DEAD = {"gone-1": "127.0.41.1", "gone-2": "127.0.41.2"}   # nothing listens: unreachable
# the host's own number (its address's last octet); hosts 10, 20, 30, 40 fail with exit 3
NUMBER = "$(echo $SSH_CONNECTION | cut -d' ' -f3 | cut -d. -f4)"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with running_cluster(tmp_path_factory.mktemp("fleet"), FLEET) as cluster:
        yield cluster


def _profile(fleet: SshdCluster, tmp_path: Path, flag: Path) -> Profile:
    config = tmp_path / "ssh_config"
    config.write_text(fleet.ssh_config.read_text() + "".join(
        f"Host {name}\n  HostName {addr}\n  Port {fleet.port}\n  User {fleet.user}\n" for name, addr in DEAD.items()))
    hosts = ", ".join(f'"{h}"' for h in [*FLEET, *DEAD])
    batch_hosts = ", ".join(f'"{h}"' for h in list(FLEET)[:12])
    path = tmp_path / "fleet.toml"
    path.write_text(f"""
[cockpit]
name = "tui-fleet"
environment = "drill"

[ssh]
config = "{config}"
known_hosts = "{fleet.known_hosts}"
client_keys = ["{fleet.client_key}"]
connect_timeout = "5s"

[hosts]
fleet = [{hosts}]
first12 = [{batch_hosts}]

[[step]]
id = "everywhere"
title = "Run on the whole fleet"
phase = "rollback"
key = "o"
hosts = "fleet"
confirm = "none"
command = "n={NUMBER}; echo first line $n; echo last line $n; [ $((n % 10)) -ne 0 ] || exit 3"

[[step]]
id = "rolling"
title = "Roll out in batches of 4"
phase = "rollback"
key = "b"
hosts = "first12"
confirm = "none"
batch = [4]
command = "until [ -e {flag} ]; do sleep 0.05; done; echo rolled {NUMBER}"
""")
    return load_profile(path)


def _view(app: CockpitApp) -> HostList:
    assert isinstance(app.screen, HostsScreen)
    return app.screen.query_one(HostList)


async def test_hosts_view_states_counts_and_filter(fleet: SshdCluster, tmp_path: Path) -> None:
    profile = _profile(fleet, tmp_path, tmp_path / "flag")
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        checklist = app.query_one(Checklist)
        assert checklist.move_to("step", "everywhere")
        # never run: every host pending
        await pilot.press("ctrl+o")
        await until(lambda: isinstance(app.screen, HostsScreen), what="the hosts view")
        view = _view(app)
        await until(lambda: len(view.rows) == 42, what="42 rows")
        assert {r.state for r in view.rows} == {"pending"}
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="closed")

        await pilot.press("o")
        await until(lambda: controller.step_state("everywhere") in ("partial", "failed"), timeout=60,
                    what="the step ended")
        assert checklist.move_to("step", "everywhere")
        await pilot.press("ctrl+o")
        await until(lambda: isinstance(app.screen, HostsScreen), what="the hosts view")
        view = _view(app)
        await until(lambda: len(view.rows) == 42, what="42 rows")
        by_host = {r.host: r for r in view.rows}
        assert by_host["fleet-07"].state == "ok" and by_host["fleet-07"].exit_code == 0
        assert by_host["fleet-07"].last_line == "last line 7"
        assert by_host["fleet-20"].state == "failed" and by_host["fleet-20"].exit_code == 3
        assert by_host["fleet-20"].last_line == "last line 20"
        assert by_host["gone-1"].state == "unreachable" and by_host["gone-1"].exit_code is None
        assert by_host["gone-1"].last_line   # the connection error, worded
        assert all(r.duration is not None for r in view.rows if r.state == "ok")
        counts = str(app.screen.query_one("#hosts-counts").render())
        assert "42 hosts: 36 ok · 4 failed · 2 unreachable" in counts, counts

        await pilot.press("f")
        await until(lambda: view.filter == "failed", what="failed filter")
        assert [r.host for r in view.shown] == ["fleet-10", "fleet-20", "fleet-30", "fleet-40"]
        assert "showing failed (4)" in str(app.screen.query_one("#hosts-counts").render())
        await pilot.press("f")
        await until(lambda: view.filter == "unreachable", what="unreachable filter")
        assert [r.host for r in view.shown] == ["gone-1", "gone-2"]
        await pilot.press("f")
        await until(lambda: view.filter == "all" and len(view.shown) == 42, what="all again")
        # only the rows on screen are drawn, and the list scrolls to its end
        await pilot.press("end")
        await until(lambda: view.scroll_offset.y > 0, what="scrolled")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="closed")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_stop_after_batch_key_and_running_hosts(fleet: SshdCluster, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    profile = _profile(fleet, tmp_path, flag)
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)

    def footer_keys() -> set[str]:
        return {b.action for (_n, b, enabled, _t) in app.screen.active_bindings.values() if enabled}

    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        assert "stop_after_batch" not in footer_keys()   # nothing rolls out: not offered
        await pilot.press("b")
        await until(lambda: "rolling" in controller.running and controller.running["rolling"].batch == (1, 3),
                    what="batch 1/3 out")
        await until(lambda: "stop_after_batch" in footer_keys(), what="the key offered while it rolls out")
        # the hosts view while batch 1 runs: its 4 hosts running, the other 8 pending
        assert app.checklist.move_to("step", "rolling")
        await pilot.press("ctrl+o")
        await until(lambda: isinstance(app.screen, HostsScreen), what="the hosts view")
        view = _view(app)
        await until(lambda: len(view.rows) == 12, what="12 rows")
        states = [r.state for r in view.rows]
        assert states == ["running"] * 4 + ["pending"] * 8, states
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="closed")

        await pilot.press("ctrl+backslash")
        stop = [e for e in controller.journal_entries() if e["type"] == "batch" and e.get("event") == "stop_asked"]
        assert len(stop) == 1 and stop[0]["batch"] == 1 and stop[0]["batches"] == 3, stop
        assert stop[0]["by"] == controller.driver
        assert any("stops after batch 1 of 3" in n.message for n in app.notices)
        flag.touch()
        await until(lambda: controller.step_state("rolling") not in ("running", "idle"), timeout=30,
                    what="the rollout stopped")
        record = controller.session.steps["rolling"]
        states = {h["host"]: h["state"] for h in record.hosts}
        assert [states[h] for h in list(FLEET)[:4]] == ["ok"] * 4
        assert [states[h] for h in list(FLEET)[4:12]] == ["skipped"] * 8
        assert "stop_after_batch" not in footer_keys()
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
