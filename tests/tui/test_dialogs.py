"""Dialogs and notifications against real parts (a real sshd, the real controller)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Static

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, YesNoScreen
from tests.support.httpstub import HttpStub
from tests.support.sshd import TestSshd, keygen, running_sshd
from tests.tui.conftest import until
from tests.tui.screen_text import checklist_text, screen_text
from widgets.checklist import Checklist
from widgets.logpane import LogPane

MANY = {f"app-{i:02d}": f"127.0.2.{i}" for i in range(1, 13)}  # sshd listens on at most 16 sockets


async def test_precondition_override_is_explained_and_enter_says_why(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("d")  # destructive, typed, after `touch` (not run)
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="confirmation")
        modal = app.screen
        await until(lambda: "precondition missing: touch has not succeeded" in screen_text(app),
                    what="the dialog drawn")
        shown = screen_text(app)
        assert "Fire stays disabled until the override is ticked (Tab to it, Space ticks it)" in shown
        assert "the RTO clock has not started" in shown  # a destructive step before the clock
        await pilot.press(*"drill", "enter")  # the environment typed, Enter: says why nothing fires
        await until(lambda: "tick the override first" in str(modal.query_one("#why-not", Static).render()),
                    what="the reason Fire is disabled")
        assert isinstance(app.screen, ConfirmStepScreen) and not list(marker_dir.iterdir())
        assert modal.query_one("#override", Checkbox).has_focus  # taken where it can be fixed
        await pilot.press("space")
        await until(lambda: not modal.query_one("#fire", Button).disabled, what="fire enabled")
        for _ in range(6):  # Tab to Fire, as the dialog says
            if modal.query_one("#fire", Button).has_focus:
                break
            await pilot.press("tab")
        await pilot.press("enter")
        await until((marker_dir / "destroyed").exists, what="the step ran with the override")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_cancel_dialog_closes_when_its_step_ends_and_quit_defaults_to_no(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("w")  # a slow step, no confirmation
        await until(lambda: "slow" in controller.running, what="the slow step running")
        # quitting while it runs asks; Enter keeps the cockpit (the safe choice has the focus)
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="quit question")
        assert app.screen.query_one("#no", Button).has_focus
        await pilot.press("enter")
        await until(lambda: len(app.screen_stack) == 1, what="question answered")
        assert not app.stopped and "slow" in controller.running
        # the cancel question, then the step ends on its own (here: cancelled from elsewhere)
        await pilot.press("ctrl+k")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="cancel question")
        assert "Cancel slow on every host?" in screen_text(app)
        assert controller.cancel("slow")
        await until(lambda: len(app.screen_stack) == 1, what="the cancel dialog closed by itself")
        await until(lambda: any("slow ended before it was cancelled" in n.message for n in app.notices),
                    what="the reason it closed")
        await until(lambda: "■ A slow step on every web host  cancelled" in checklist_text(app), what="cancelled")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


@pytest.fixture(scope="module")
def many_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd20"), MANY) as server:
        yield server


async def test_one_host_key_failure_on_twelve_hosts_is_one_notification(
    many_hosts: TestSshd, tmp_path: Path
) -> None:
    other = keygen(tmp_path / "other_key")  # known_hosts names another key: every host key is refused
    wrong = tmp_path / "known_hosts"
    wrong.write_text(many_hosts.known_hosts_lines(other.with_suffix(".pub").read_text().split()[1]))
    path = tmp_path / "p.toml"
    path.write_text(f"""
[cockpit]
name = "many"
environment = "drill"

[ssh]
config = "{many_hosts.ssh_config}"
known_hosts = "{wrong}"
client_keys = ["{many_hosts.client_key}"]
connect_timeout = "5s"

[hosts]
app = {list(MANY)!r}

[[step]]
id = "hello"
title = "Say hello"
phase = "prepare"
key = "h"
hosts = "app"
command = "echo hello"
""".replace("'", '"'))
    profile = load_profile(path)
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(lambda: any("on 12 hosts" in n.message for n in app.notices), timeout=30,
                    what="one grouped notification")
        about_hosts = [n for n in app.notices if any(h in n.message for h in MANY) or "hosts" in n.message]
        assert len(about_hosts) == 1, [n.message for n in about_hosts]
        assert "CHANGED host key" in about_hosts[0].message
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


def footer(app: CockpitApp) -> str:
    return screen_text(app).splitlines()[-1]


async def test_footer_shows_only_keys_that_act_now(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await until(lambda: "Start rollback" in footer(app), what="r offered before the rollback")
        assert "Cancel step" not in footer(app) and "Log filter" not in footer(app)
        assert "Touch" not in footer(app)  # step keys are on their rows, not in the footer
        await pilot.press("w")
        await until(lambda: "Cancel step" in footer(app), what="ctrl+k offered while a step runs")
        assert "Log filter" in footer(app)  # there is output to filter now
        assert controller.start_rollback()
        await until(lambda: "Start rollback" not in footer(app), what="r gone once the clock runs")
        controller.cancel("slow")
        await until(lambda: "Cancel step" not in footer(app), what="ctrl+k gone once nothing runs")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    observer = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=observer, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: "READ-ONLY" in screen_text(app), what="read-only")
        assert "Start rollback" not in footer(app) and "Cancel step" not in footer(app)
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_screenshot_says_where_or_why_not(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    app = CockpitApp(profile, controller=Controller(profile, read_only=True), read_only=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        saved = app.deliver_screenshot()  # what the palette's "Screenshot" calls
        assert saved is not None and Path(saved).is_file() and Path(saved).read_text().startswith("<svg")
        assert any(n.message == f"screenshot saved: {saved}" for n in app.notices)
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # the folder cannot be created
        assert app.deliver_screenshot() is None
        failed = [n.message for n in app.notices if n.message.startswith("screenshot not saved:")]
        assert failed and str(blocker) in failed[0] and "[$" not in failed[0], failed
        await until(lambda: "screenshot not saved" in screen_text(app), what="the reason on screen")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_an_observer_sees_a_failure_and_its_hosts_in_the_output_pane(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    """Not just ✘: the observer's output pane gets the reason and every failed host's error, and the row a mark."""
    profile = make_profile(hanging_source.url("/healthz"))
    driver = Controller(profile)
    await driver.start(poll=False)
    try:
        observer = Controller(profile, read_only=True)
        app = CockpitApp(profile, controller=observer, read_only=True)
        async with app.run_test(size=(120, 36)):
            await until(lambda: all(driver.pool.state(h) == "connected" for h in ("web-1", "web-2")),
                        timeout=90, what="the driver's connections")
            marker_dir.rmdir()  # `touch` into a missing directory fails on both hosts
            result = await driver.fire("touch", yes=True)
            assert result.state == "failed", result
            log = app.query_one(LogPane)
            await until(lambda: any("touch failed (0/2 hosts ok)" in ln for ln in log.plain_lines()),
                        what=f"the failure followed: {log.plain_lines()}")
            for host in ("web-1", "web-2"):
                assert any(ln.startswith(host) and "failed, exit 1" in ln for ln in log.plain_lines()), \
                    log.plain_lines()
            row = next(r for r in app.query_one(Checklist).steps if r.step_id == "touch")
            assert row.state == "failed" and row.unseen
            # this test is about what the observer shows; quitting by key is tested on its own
            await app.shutdown()
            await until(lambda: app.stopped, what="shutdown")
    finally:
        await driver.stop()
