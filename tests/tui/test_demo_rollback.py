"""The demo's whole rollback driven through the TUI by keys, as an operator would, at high speed.

Real parts throughout: the embedded simulated Academy stack (``DemoStack``: an asyncssh server
per host, Prometheus and /healthz over loopback HTTP), the real Controller, the real app.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.widgets import Button, Checkbox, Input

from cockpit.controller import Controller
from cockpit.demo.sim import ENV_FILE, START_BATCHES, WEB_HOSTS, WORKER_HOSTS
from cockpit.demo.stack import DemoStack
from cockpit.journal import journals_of, read_journal
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, ManualTickScreen, YesNoScreen
from tests.tui.conftest import until
from tests.tui.screen_text import checklist_text, screen_text

SIZE = (120, 36)
ROLLBACK = ("horizon-pause", "fpm-flag", "fpm-reload", "octane-stop", "migrate-rollback", "horizon-continue")


def notes(app: CockpitApp) -> str:
    return "\n".join(n.message for n in app.notices)


def check_line(app: CockpitApp, check_id: str) -> str:
    """The checklist's line of one check (by its title)."""
    title = next(c.title for c in app.profile.checks if c.id == check_id)
    return next(line for line in checklist_text(app).splitlines() if title in line)


def check_status(controller: Controller) -> dict[str, str]:
    return {s.check_id: s.status for s in controller.checks.states()}


@asynccontextmanager
async def cockpit_on_demo(speed: float, *, read_only: bool = False, size: tuple[int, int] = SIZE,
                          ) -> AsyncIterator[tuple[DemoStack, Controller, CockpitApp, Any]]:
    """A running demo stack, a controller and the app under Pilot; everything stopped afterwards."""
    async with DemoStack(speed=speed) as stack:
        controller = Controller(stack.profile, read_only=read_only)
        app = CockpitApp(stack.profile, controller=controller, read_only=read_only)
        try:
            async with app.run_test(size=size) as pilot:
                if not read_only:
                    await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
                    hosts = sorted({h for g in stack.profile.hosts.values() for h in g})
                    await until(lambda: controller.pool is not None
                                and all(controller.pool.state(h) == "connected" for h in hosts),
                                timeout=20, what="ssh to every simulated host")
                yield stack, controller, app, pilot
                if not app.stopped:
                    await pilot.press("q")
                    await until(lambda: app.stopped, what="quit")
        finally:
            await controller.stop()  # idempotent; covers a failed assertion inside the block


async def confirm_step(app: CockpitApp, pilot: Any, step_id: str) -> None:
    """Press the step's key and answer its modal like an operator: Enter, or type the environment."""
    step = app.profile.step(step_id)
    assert step.key
    await pilot.press(step.key)
    if step.kind == "manual":
        await until(lambda: isinstance(app.screen, ManualTickScreen), what=f"{step_id}: tick modal")
        await pilot.press(*"done in drill")
        await pilot.press("enter")
        return
    await until(lambda: isinstance(app.screen, ConfirmStepScreen), what=f"{step_id}: confirmation modal")
    modal = app.screen
    assert f"Fire step {step_id}" in screen_text(app)
    assert "precondition missing" not in screen_text(app), f"{step_id} out of order?"
    if step.confirm == "type":
        assert modal.query_one("#fire", Button).disabled  # nothing before the environment name is typed
        await pilot.press(*app.profile.cockpit.environment)
        await until(lambda: not modal.query_one("#fire", Button).disabled, what="typed confirmation accepted")
    await pilot.press("enter")
    await until(lambda: len(app.screen_stack) == 1, what=f"{step_id}: modal closed")


async def test_whole_rollback_by_keys_turns_every_check_green_and_journals_the_timeline() -> None:
    async with cockpit_on_demo(speed=80) as (stack, controller, app, pilot):
        profile = stack.profile
        # the incident is on screen first: these checks are failing (healthz flaps, so not asserted)
        await until(lambda: all(check_status(controller).get(c) == "failing"
                                for c in ("queues", "http_5xx", "ingestion_lag")),
                    timeout=20, what="the incident's checks failing")
        assert "✘ Horizon queue depth < 100" in checklist_text(app)
        assert "RTO not started" in screen_text(app)

        await pilot.press("r")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="start-rollback confirmation")
        assert "Start the rollback now?" in screen_text(app)
        await pilot.press("enter")  # the Start button has the focus
        await until(lambda: controller.session.rollback_started is not None, what="rollback started")
        await until(lambda: "RTO 00:" in screen_text(app), what="the RTO clock on screen")

        ends = next(s.id for s in profile.steps if s.ends_rollback)
        for step in profile.steps:
            if step.id == ends:  # the runbook: announce the end once the checklist is green
                await until(lambda: all(v == "ok" for v in check_status(controller).values()),
                            timeout=60, what=f"every check ok: {check_status(controller)}")
                # the screen draws what the controller decided on its next refresh: poll it, don't race it
                await until(lambda: all(check_line(app, c.id).lstrip().startswith("✔") for c in profile.checks),
                            what="every check ✔ on screen: " + " | ".join(check_line(app, c.id).strip()
                                                                          for c in profile.checks))
            await confirm_step(app, pilot, step.id)
            await until(lambda s=step: controller.step_state(s.id) == "ok", timeout=30,
                        what=f"{step.id} ok (now {controller.step_state(step.id)})")
            await until(lambda s=step: f"✔ {s.title}" in checklist_text(app), what=f"{step.id} ticked on screen")

        # the simulated platform really was rolled back over SSH
        sim = stack.sim
        assert all(sim.hosts[h].horizon == "running" for h in WORKER_HOSTS)
        assert all(sim.hosts[h].serving == "fpm" and not sim.hosts[h].octane_running for h in WEB_HOSTS)
        assert all("OCTANE_ENABLED=false" in sim.hosts[h].files[ENV_FILE] for h in WEB_HOSTS)
        assert not sim.contract_applied
        assert controller.session.rollback_ended is not None
        assert stack.workdir is not None and list((stack.workdir / "outbox").iterdir())
        journal_path = controller.journal.path
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")

    entries = read_journal(journal_path)
    types = [e["type"] for e in entries]
    assert types[0] == "session_start" and types[-1] == "session_end"
    assert types.count("rollback_start") == 1 and types.count("rollback_end") == 1
    assert types.index("rollback_start") < types.index("step_start")
    fired = [s.id for s in profile.steps if s.kind != "manual"]
    ticked = [s.id for s in profile.steps if s.kind == "manual"]
    assert [e["step"] for e in entries if e["type"] == "step_start"] == fired
    ends_ = [e for e in entries if e["type"] == "step_end"]
    assert [e["step"] for e in ends_] == fired
    assert all(e["state"] == "ok" for e in ends_), [(e["step"], e["state"], e.get("reason")) for e in ends_]
    for step_id in fired:  # every start is followed by its own end before the next step starts
        start = next(i for i, e in enumerate(entries) if e["type"] == "step_start" and e["step"] == step_id)
        end = next(i for i, e in enumerate(entries) if e["type"] == "step_end" and e["step"] == step_id)
        assert start < end
        assert not [e for e in entries[start + 1:end] if e["type"] == "step_start"], step_id
    assert [e["step"] for e in entries if e["type"] == "manual_tick"] == ticked
    assert all(e["note"] == "done in drill" for e in entries if e["type"] == "manual_tick")
    assert not [e for e in entries if e["type"] in ("guard_refused", "guard_override")]
    to_ok = {e["check"] for e in entries if e["type"] == "check_transition" and e["to"] == "ok"}
    assert to_ok == {c.id for c in profile.checks}
    end_at = types.index("rollback_end")
    announce_end = next(i for i, e in enumerate(entries) if e["type"] == "step_end" and e["step"] == ends)
    assert announce_end < end_at
    assert entries[end_at]["within_rto"] is True
    last_green = max(i for i, e in enumerate(entries) if e["type"] == "check_transition" and e["to"] == "ok")
    first_step = types.index("step_start")
    assert first_step < last_green < announce_end


async def fire_with_override(app: CockpitApp, pilot: Any, step_id: str, missing: str) -> str:
    """Press the key of a step whose precondition is missing; tick the override; fire. The modal's text."""
    step = app.profile.step(step_id)
    assert step.key
    await pilot.press(step.key)
    await until(lambda: isinstance(app.screen, ConfirmStepScreen), what=f"{step_id}: confirmation modal")
    modal = app.screen
    shown = screen_text(app)
    fire = modal.query_one("#fire", Button)
    assert fire.disabled  # not without the override
    if step.confirm == "type":
        await pilot.press(*app.profile.cockpit.environment)
        await pilot.pause()
        assert modal.query_one("#typed", Input).value == app.profile.cockpit.environment
        assert fire.disabled  # the typed name alone is not enough: the precondition is missing
    await pilot.click("#override")
    await until(lambda: modal.query_one("#override", Checkbox).value, what="override ticked")
    await until(lambda: not fire.disabled, what="fire enabled by the override")
    await pilot.click("#fire")
    await until(lambda: len(app.screen_stack) == 1, what=f"{step_id}: modal closed")
    return shown


async def test_out_of_order_names_the_missing_step_and_override_shows_the_consequence() -> None:
    async with cockpit_on_demo(speed=60) as (stack, controller, app, pilot):
        sim = stack.sim
        await until(lambda: check_status(controller).get("http_5xx") == "failing", timeout=20, what="5xx failing")

        # the migration before Horizon is paused: jobs run against a changing schema
        failed_before = sim.failed_jobs
        assert sim.turbulence == 0.0
        shown = await fire_with_override(app, pilot, "migrate-rollback", "horizon-pause")
        assert "precondition missing: horizon-pause has not succeeded" in shown
        assert "override the precondition (journalled)" in shown
        await until(lambda: controller.step_state("migrate-rollback") == "ok", timeout=30, what="migration ran")
        assert not sim.contract_applied
        assert sim.turbulence > 0.0  # the simulated consequence: workers hit the schema while it changed
        assert sim.failed_jobs - failed_before >= 40, (failed_before, sim.failed_jobs)
        overrides = [e for e in controller.journal_entries() if e["type"] == "guard_override"]
        assert [(e["step"], e["missing"]) for e in overrides] == [("migrate-rollback", ["horizon-pause"])]

        # Octane stopped while it still serves (before the FPM reload): nginx answers 502
        shown = await fire_with_override(app, pilot, "octane-stop", "fpm-reload")
        assert "precondition missing: fpm-reload has not succeeded" in shown
        await until(lambda: controller.step_state("octane-stop") == "ok", timeout=30, what="octane stopped")
        assert all(sim.hosts[h].serving == "octane" and not sim.hosts[h].octane_running for h in WEB_HOSTS)
        await until(lambda: "502" in check_line(app, "healthz") and check_line(app, "healthz").lstrip().startswith("✘"),
                    timeout=20, what=f"/healthz 502 on the checklist: {check_line(app, 'healthz')}")

        # back in order, but Horizon stays paused: the web recovers, the queues never drain
        for step_id in ("horizon-pause", "fpm-flag", "fpm-reload"):
            await confirm_step(app, pilot, step_id)
            await until(lambda s=step_id: controller.step_state(s) == "ok", timeout=30, what=f"{step_id} ok")
            if step_id == "horizon-pause":
                paused_wall = time.time()
        await until(lambda: check_status(controller).get("http_5xx") == "ok"
                    and check_status(controller).get("healthz") == "ok", timeout=60, what="the web tier green")
        paused_at = sim.now_sim()
        await until(lambda: sim.now_sim() - paused_at > 300, timeout=30, what="five simulated minutes")
        later = time.time()
        await until(lambda: (controller.store.view("queues").last_ok or 0.0) > later,
                    what="a queue sample taken after those minutes")
        assert check_status(controller)["queues"] == "failing"
        assert check_status(controller)["ingestion_lag"] == "failing"
        assert check_line(app, "queues").lstrip().startswith("✘")
        assert check_line(app, "http_5xx").lstrip().startswith("✔")
        assert all(sim.hosts[h].horizon == "paused" for h in WORKER_HOSTS)
        # Horizon still ran while the steps above were out of order, so the queues may have
        # drained for a while (how far depends on how fast this machine ran the simulation); once
        # paused they grow again: after the first "failing" since the pause, never green again
        history = controller.checks.history("queues")
        at_pause = [st for ts, st in history if ts < paused_wall][-1:]   # the state the pause found
        since_pause = at_pause + [st for ts, st in history if ts >= paused_wall]
        after_failing = since_pause[since_pause.index("failing"):] if "failing" in since_pause else []
        assert after_failing and "ok" not in after_failing, since_pause


async def test_read_only_keys_notify_and_nothing_runs_on_the_simulated_hosts() -> None:
    async with cockpit_on_demo(speed=60, read_only=True) as (stack, controller, app, pilot):
        sim = stack.sim
        before = {h: dict(s.files) for h, s in sim.hosts.items()}
        await until(lambda: "READ-ONLY" in screen_text(app), what="read-only header")
        await until(lambda: check_status(controller).get("queues") == "failing", timeout=20,
                    what="the observer still sees the live incident")
        for key in ("p", "m", "f", "l", "o", "c", "4", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert len(app.screen_stack) == 1, f"a modal opened for {key!r} in a read-only cockpit"
        await until(lambda: "read-only session" in notes(app), what="the read-only notification")
        assert {n.severity for n in app.notices if "read-only" in n.message} == {"warning"}
        result = await controller.fire("horizon-pause", yes=True)  # the guard refuses too
        assert result.state == "refused" and "read-only" in (result.reason or "")
        sim.sync()
        assert all(sim.hosts[h].horizon == "running" for h in WORKER_HOSTS)
        assert all(sim.hosts[h].serving == "octane" and sim.hosts[h].octane_running for h in WEB_HOSTS)
        assert all(sim.hosts[h].fpm_reloads == 0 for h in WEB_HOSTS)
        assert sim.batches == START_BATCHES
        assert {h: dict(s.files) for h, s in sim.hosts.items()} == before
        assert list(sim.events) == []
        assert controller.session.rollback_started is None
        for step_id in ("horizon-pause", "migrate-rollback", "fpm-flag"):  # every step still idle on screen
            title = stack.profile.step(step_id).title
            assert f"○ {title}" in checklist_text(app), checklist_text(app)
        assert journals_of(stack.profile) == []  # an observer never writes a journal
