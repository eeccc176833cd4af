"""The guard through the controller, against a real sshd: refusals happen before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.guard import Guard
from cockpit.journal import read_journal
from cockpit.session import Session
from cockpit.state import journals_dir
from tests.engine.conftest import wait_until


class _Lock:
    def __init__(self, held: bool) -> None:
        self.held = held


def test_guard_rules_in_order(make_profile) -> None:
    profile = make_profile()
    guard = Guard("drill")
    destroy, touch, prepare = profile.step("destroy"), profile.step("touch"), profile.step("prepare")
    empty = Session()
    kw = {"session": empty, "confirmation": "drill", "yes": True, "override": False}
    d = guard.decide(destroy, read_only=True, lock=_Lock(True), **kw)
    assert not d.allowed and "read-only" in d.reason
    d = guard.decide(destroy, read_only=False, lock=_Lock(False), **kw)
    assert not d.allowed and "not the driver" in d.reason
    d = guard.decide(destroy, read_only=False, lock=_Lock(True), **kw)
    assert not d.allowed and d.missing == ("touch",) and "touch" in d.reason and d.needs == "type"
    d = guard.decide(destroy, read_only=False, lock=_Lock(True), **{**kw, "override": True})
    assert d.allowed and d.override and d.missing == ("touch",)
    done = Session.from_entries([{"type": "step_start", "ts": 1, "step": "touch"},
                                 {"type": "step_end", "ts": 2, "step": "touch", "state": "ok"}])
    for wrong in (None, "production", "Drill", "drill "):
        d = guard.decide(destroy, session=done, read_only=False, lock=_Lock(True), confirmation=wrong,
                         yes=True, override=False)
        assert not d.allowed and d.needs == "type" and "drill" in d.reason
    d = guard.decide(destroy, session=done, read_only=False, lock=_Lock(True), confirmation="drill",
                     yes=False, override=False)
    assert d.allowed and not d.override
    d = guard.decide(touch, session=empty, read_only=False, lock=_Lock(True), confirmation=None, yes=False,
                     override=False)
    assert not d.allowed and d.needs == "yes" and "--yes" in d.reason
    d = guard.decide(prepare, session=empty, read_only=False, lock=_Lock(True), confirmation=None, yes=False,
                     override=False)
    assert d.allowed and d.needs == "none"
    running = Session.from_entries([{"type": "step_start", "ts": 1, "step": "touch"}])
    d = guard.decide(touch, session=running, read_only=False, lock=_Lock(True), confirmation=None, yes=True,
                     override=False)
    assert not d.allowed and "already running" in d.reason


def _no_journals() -> bool:
    return not any(journals_dir().iterdir())


@pytest.mark.parametrize("how", ["flag", "profile"])
async def test_read_only_refuses_before_any_connection(sshd, make_profile, marker_dir: Path, how: str) -> None:
    extra_cfg = "read_only = true\n" if how == "profile" else ""
    profile = make_profile(ssh=sshd)
    if extra_cfg:
        text = Path(profile.path).read_text().replace('rto = "15m"', 'rto = "15m"\nread_only = true')
        Path(profile.path).write_text(text)
        from cockpit.profile.load import load_profile
        profile = load_profile(profile.path)
    wait_until(lambda: not sshd.session_children(), what="the startup probes' sshd children to go")
    c = Controller(profile, read_only=(how == "flag"))
    await c.start(connect=True, poll=False)
    try:
        assert c.read_only
        for step, kw in (("touch", {"yes": True}), ("destroy", {"confirmation": "drill", "override": True}),
                         ("prepare", {})):
            result = await c.fire(step, **kw)
            assert result.state == "refused" and "read-only" in (result.reason or "")
        assert "read-only" in c.decide("touch", yes=True).reason
        assert (await c.preview("destroy")).startswith(f"$ touch {marker_dir}/destroyed")
        assert sshd.session_children() == []             # no connection reached the server
    finally:
        await c.stop()
    assert c.pool is None and c.runner is None          # no SSH pool was ever created
    assert list(marker_dir.iterdir()) == []              # no remote side effect
    assert _no_journals()                                 # an observer never writes the journal
    assert not c.lock.path.exists() or c.lock.path.read_text() == ""   # never took the lock


async def test_second_driver_refused_with_holder_named(sshd, make_profile, marker_dir: Path) -> None:
    profile = make_profile(ssh=sshd)
    first = Controller(profile)
    await first.start(connect=False, poll=False)
    second = Controller(profile)
    await second.start(connect=True, poll=False)
    try:
        assert first.is_driver and not second.is_driver
        assert any("not the driver: locked by" in n for n in second.notices)
        result = await second.fire("touch", yes=True)
        assert result.state == "refused"
        assert result.reason is not None and "locked by" in result.reason
        assert f"(pid {first.lock.holder.pid}) since " in result.reason
        assert second.lock_holder == first.lock.holder
        assert second.driver == first.driver
        assert second.pool is None
    finally:
        await second.stop()
        await first.stop()
    assert list(marker_dir.iterdir()) == []
    entries = read_journal(first.journal.path)
    assert [e["type"] for e in entries] == ["session_start", "session_end"]   # the refused one wrote nothing


async def test_after_refused_then_override_journalled(sshd, make_profile, marker_dir: Path) -> None:
    profile = make_profile(ssh=sshd)
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    try:
        refused = await c.fire("destroy", confirmation="drill")
        assert refused.state == "refused" and "touch" in (refused.reason or "")
        assert not (marker_dir / "destroyed").exists()
        done = await c.fire("destroy", confirmation="drill", override=True)
        assert done.state == "ok", done
        assert (marker_dir / "destroyed").exists()
    finally:
        await c.stop()
    entries = read_journal(c.journal.path)
    types = [e["type"] for e in entries]
    refusal = entries[types.index("guard_refused")]
    assert refusal["step"] == "destroy" and refusal["missing"] == ["touch"] and "touch" in refusal["reason"]
    override = entries[types.index("guard_override")]
    assert override["missing"] == ["touch"]
    start = entries[types.index("step_start")]
    assert start["override"] is True and start["confirm"] == "type" and start["hosts"] == ["web-1"]
    assert types.index("guard_override") < types.index("step_start") < types.index("step_end")
    end = entries[types.index("step_end")]
    assert end["state"] == "ok" and end["hosts"][0]["exit_status"] == 0 and end["hosts"][0]["tail"] == ["destroyed"]


async def test_typed_confirmation_required(sshd, make_profile, marker_dir: Path) -> None:
    profile = make_profile(ssh=sshd)
    c = Controller(profile)
    await c.start(connect=True, poll=False)
    try:
        assert (await c.fire("touch")).state == "refused"          # confirm = "yes" needs --yes
        touched = await c.fire("touch", yes=True)
        assert touched.ok and len(list(marker_dir.glob("touched-*"))) == 2
        assert c.session.rollback_running                         # starts_rollback
        for wrong in ("production", "DRILL", ""):
            r = await c.fire("destroy", confirmation=wrong, yes=True)
            assert r.state == "refused" and ("empty confirmation" if wrong == "" else "does not match") in (r.reason or "")
        r = await c.fire("destroy", yes=True)
        assert r.state == "refused" and "type the environment name (drill)" in (r.reason or "")
        assert not (marker_dir / "destroyed").exists()
        assert (await c.fire("destroy", confirmation="drill")).ok
        assert (marker_dir / "destroyed").exists()
        assert (await c.fire("finish")).ok                         # confirm = "none", ends_rollback
        assert c.session.rollback_ended is not None
    finally:
        await c.stop()
    refusals = [e for e in read_journal(c.journal.path) if e["type"] == "guard_refused"]
    assert len(refusals) == 5


async def test_hosts_outside_the_group_refused(sshd, make_profile, marker_dir: Path) -> None:
    profile = make_profile(ssh=sshd)
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    try:
        r = await c.fire("touch", yes=True, hosts=["web-3"])
        assert r.state == "refused" and "web-3" in (r.reason or "")
        r = await c.fire("touch", yes=True, hosts=["web-2"])
        assert r.ok and [h.host for h in r.hosts] == ["web-2"]
    finally:
        await c.stop()
    assert [p.name for p in marker_dir.iterdir()] == ["touched-127.0.1.2"]


async def test_ssh_preview_says_what_runs_where(sshd, make_profile) -> None:
    steps = """
[[step]]
id = "migrate"
title = "Migrate"
phase = "rollback"
hosts = "web"
run = "once"
confirm = "type"
destructive = true
command = "echo migrate"
preview = "echo would-roll-back"
"""
    c = Controller(make_profile(ssh=sshd, steps=steps))
    await c.start(connect=False, poll=False)
    try:
        text = await c.preview("migrate")
    finally:
        await c.stop()
    assert "$ echo migrate" in text and "ONE host" in text and "web-1: would-roll-back" in text
