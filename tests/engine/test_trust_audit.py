"""Trust rules, tried from the controller's side: observers act on nothing, ticks are for manual steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.state import journals_dir

MANUAL = """
[[step]]
id = "signoff"
title = "CAB sign-off (by hand)"
phase = "validate"
kind = "manual"
confirm = "none"
"""


def _journal_files() -> list[Path]:
    return sorted(journals_dir().glob("*.jsonl")) if journals_dir().exists() else []


@pytest.mark.parametrize("how", ["flag", "lock-held"])
async def test_observer_refuses_every_action_and_writes_nothing(make_profile, marker_dir: Path, how: str) -> None:
    profile = make_profile(steps=MANUAL)
    first: Controller | None = None
    if how == "lock-held":
        first = Controller(profile)
        await first.start(connect=False, poll=False)
        assert first.start_rollback()
    before = {p: p.read_bytes() for p in _journal_files()}
    c = Controller(profile, read_only=(how == "flag"))
    await c.start(connect=False, poll=False)
    try:
        assert not c.is_driver
        ticked = c.tick_manual("signoff", "done by hand")
        assert not ticked.allowed
        assert ("read-only" if how == "flag" else "not the driver") in ticked.reason
        overridden = c.tick_manual("signoff", "done by hand", override=True)
        assert not overridden.allowed
        assert not c.start_rollback()
        assert not c.end_rollback()
        assert not c.cancel("touch")
        result = await c.fire("destroy", confirmation="drill", yes=True, override=True)
        assert result.state == "refused"
    finally:
        await c.stop()
        if first is not None:
            await first.stop()
    assert c.journal is None
    if first is None:
        assert _journal_files() == []
    else:
        after = read_journal(first.journal.path)
        assert [e["type"] for e in after] == ["session_start", "rollback_start", "session_end"]
        assert set(before) == set(_journal_files())
    assert list(marker_dir.iterdir()) == []


@pytest.mark.parametrize("step_id", ["touch", "destroy", "prepare"])
async def test_tick_is_refused_for_a_step_that_is_not_manual(make_profile, marker_dir: Path, step_id: str) -> None:
    """Ticking an ssh/local step would mark it done without running it (and without the typed
    confirmation of a destructive one), satisfying every ``after`` that waits for it."""
    c = Controller(make_profile(steps=MANUAL))
    await c.start(connect=False, poll=False)
    try:
        decision = c.tick_manual(step_id, "did it by hand", override=True)
        assert not decision.allowed
        assert "manual" in decision.reason
        assert step_id not in c.session.done
        assert not c.decide("destroy", confirmation="drill").allowed or step_id == "touch"
        assert c.tick_manual("signoff", "CAB ok").allowed
    finally:
        await c.stop()
    entries = read_journal(c.journal.path)
    assert not [e for e in entries if e["type"] == "manual_tick" and e["step"] == step_id]
    refused = [e for e in entries if e["type"] == "guard_refused"]
    assert refused and refused[0]["step"] == step_id and refused[0]["action"] == "tick"


TYPED_MANUAL = """
[[step]]
id = "dns-switch"
title = "Switch DNS back by hand (typed)"
phase = "rollback"
kind = "manual"
confirm = "type"
"""


async def test_typed_manual_step_needs_the_environment_typed_to_tick(make_profile) -> None:
    """`confirm = "type"` means the environment name is typed, for a tick as for a fire."""
    c = Controller(make_profile(steps=TYPED_MANUAL))
    await c.start(connect=False, poll=False)
    try:
        refused = c.tick_manual("dns-switch", "switched")
        assert not refused.allowed and "type the environment name" in refused.reason
        assert not c.tick_manual("dns-switch", "switched", confirmation="prod").allowed
        assert "dns-switch" not in c.session.done
        assert c.tick_manual("dns-switch", "switched", confirmation="drill").allowed
        assert "dns-switch" in c.session.done
    finally:
        await c.stop()
    ticks = [e for e in read_journal(c.journal.path) if e["type"] == "manual_tick"]
    assert len(ticks) == 1 and ticks[0]["note"] == "switched"


def test_a_confirmation_naming_another_environment_is_refused_for_any_step(make_profile) -> None:
    """`cockpit run touch --confirm drill` against the production profile is the wrong-profile
    mistake the typed confirmation exists to catch: a `confirm = "yes"` step took any text as a yes."""
    from cockpit.guard import Guard
    from cockpit.session import Session

    profile = make_profile(environment="production")
    guard = Guard("production")

    class Held:
        held = True

    for step_id in ("touch", "prepare"):
        step = profile.step(step_id)
        wrong = guard.decide(step, session=Session(), read_only=False, lock=Held(), confirmation="drill",
                             yes=False, override=False)
        assert not wrong.allowed and "does not match" in wrong.reason
        right = guard.decide(step, session=Session(), read_only=False, lock=Held(), confirmation="production",
                             yes=False, override=False)
        assert right.allowed


def test_cli_run_with_the_wrong_environment_confirmed_runs_nothing(make_profile, tmp_path: Path) -> None:
    from tests.engine.conftest import cockpit

    marker = tmp_path / "ran"
    profile = make_profile(environment="production", steps=f"""
[[step]]
id = "mark"
title = "Leave a marker (local, confirm yes)"
phase = "prepare"
kind = "local"
command = "touch {marker}"
""")
    r = cockpit("run", "mark", "--profile", profile.path, "--confirm", "drill")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "does not match the environment 'production'" in r.stderr
    assert not marker.exists()
    r = cockpit("run", "mark", "--profile", profile.path, "--yes")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert marker.exists()
