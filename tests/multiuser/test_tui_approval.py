"""#12: the approval request on an observer's screen (another Unix user than the driver), answered there."""

from __future__ import annotations

import os
from pathlib import Path

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.approval import ApprovalScreen
from tests.multiuser.conftest import Bastion, agent
from tests.tui.conftest import until

SCREENSHOT = os.environ.get("COCKPIT_APPROVAL_SCREENSHOT")   # set to write the README's screenshot


async def test_an_observer_of_another_user_approves_on_screen(bastion: Bastion, monkeypatch) -> None:
    a, _, _ = bastion.users.names
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(bastion.state))
    alice = agent(bastion, a, "--no-poll")
    try:
        assert alice.find(lambda e: e["kind"] == "ready")["is_driver"]
        profile = load_profile(bastion.profile)
        controller = Controller(profile, read_only=True)      # root: another Unix user than alice
        app = CockpitApp(profile, controller=controller, read_only=True)
        try:
            async with app.run_test(size=(120, 36)) as pilot:
                await until(lambda: controller.driver_state == "driving", what="the observer sees alice")
                n = alice.send(op="fire", step="migrate", confirmation="drill")
                await until(lambda: isinstance(app.screen, ApprovalScreen), timeout=20, what="the request on screen")
                shown = app.screen.prompt
                assert shown.requested_by.startswith(f"{a}@")
                assert shown.command == f"echo migrating console-1 && touch {bastion.marks}/migrated"
                if SCREENSHOT:                                   # let the modal paint first
                    await pilot.wait_for_scheduled_animations()
                    await until(lambda: app.screen.query_one("#command").size.width > 0, what="the modal drawn")
                    await pilot.pause()
                    app.save_screenshot(Path(SCREENSHOT).name, str(Path(SCREENSHOT).parent))
                await pilot.press(*"staging")                   # the wrong name does not approve
                await pilot.press("enter")
                assert isinstance(app.screen, ApprovalScreen)
                for _ in "staging":
                    await pilot.press("backspace")
                await pilot.press(*"drill")
                await pilot.press("enter")
                await until(lambda: not isinstance(app.screen, ApprovalScreen), what="the modal closed")
                done = alice.find(lambda e: e["kind"] == "result" and e["step"] == "migrate", after=n, timeout=20)
                assert done["state"] == "ok", done
                await until(lambda: controller.session.state_of("migrate") == "ok", what="the observer sees it ran")
                await pilot.press("q")
        finally:
            await controller.stop()
    finally:
        alice.send(op="quit")
        alice.close()
    assert (bastion.marks / "migrated").exists()


async def test_the_driver_hands_over_from_the_tui(bastion: Bastion, monkeypatch) -> None:
    from textual.widgets import Input

    from cockpit.tui.pair import HandOverScreen

    _, b, _ = bastion.users.names
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(bastion.state))
    profile = load_profile(bastion.profile)
    controller = Controller(profile)                      # root drives in the TUI
    app = CockpitApp(profile, controller=controller)
    bob = None
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: controller.is_driver and controller.journal is not None, what="driving")
            await controller.fire("start")
            journal = controller.journal.path
            bob = agent(bastion, b, "--no-poll")
            assert not bob.find(lambda e: e["kind"] == "ready")["is_driver"]
            app.action_hand_over()
            await until(lambda: isinstance(app.screen, HandOverScreen) and app.screen.query("#user"),
                        what="the hand-over question")
            app.screen.query_one("#user", Input).value = b
            await pilot.press("enter")
            await until(lambda: any(e["kind"] == "journal" and e["entry"]["type"] == "handoff_offered"
                                    for e in list(bob.events)), what="bob sees the offer")
            n = bob.send(op="accept")
            accepted = await until(lambda: next((e for e in list(bob.events)[n:] if e.get("op") == "accept"), None),
                                   what="bob accepts")
            assert accepted["kind"] == "result", accepted
            await until(lambda: not controller.is_driver and app.read_only, what="the TUI observes")
            await until(lambda: controller.driver_state == "driving" and (controller.driver or "").startswith(b),
                        what="bob drives")
            n = bob.send(op="state")
            st = await until(lambda: next((e for e in list(bob.events)[n:] if e["kind"] == "state"), None),
                             what="bob's state")
            assert st["journal"] == str(journal) and st["rollback_started"] == controller.session.rollback_started
            await pilot.press("q")
    finally:
        await controller.stop()
        if bob is not None:
            bob.send(op="quit")
            bob.close()
