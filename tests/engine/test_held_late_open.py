"""A held resource whose open is still in flight when the rollback ends (`cockpit.held`).

The closes at rollback end see only what is open by then. A silence step still waiting on
Alertmanager, or the Grafana region's POST, opens afterwards: it must be closed as soon as
it has opened, with the rollback's end time, and never left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.held import Held, HeldManager
from cockpit.profile.load import load_profile
from tests.engine.conftest import profile_text


class RecordingHandler:
    def __init__(self) -> None:
        self.closed: list[tuple[str, float | None]] = []

    async def extend(self, held: Held, now: float) -> tuple[str, float]:
        raise AssertionError("nothing is extended after the rollback ended")

    async def close(self, held: Held, now: float, ended: float | None) -> str:
        self.closed.append((held.id, ended))
        return "expired"

    async def check(self, held: Held) -> tuple[str, float | None]:
        return "open", held.until


def manager(tmp_path: Path, ended: list[float | None]) -> tuple[HeldManager, list[dict[str, Any]], RecordingHandler]:
    profile_path = tmp_path / "profile.toml"
    profile_path.write_text(profile_text(ssh=None, marker_dir=tmp_path))
    journal: list[dict[str, Any]] = []

    def append(type_: str, **fields: Any) -> dict[str, Any]:
        entry = {"type": type_, "ts": 1000.0 + len(journal), **fields}
        journal.append(entry)
        return entry

    m = HeldManager(load_profile(profile_path), append, now=lambda: 2000.0, rollback_ended=lambda: ended[0])
    handler = RecordingHandler()
    m._handlers["silence"] = handler
    return m, journal, handler


async def test_a_resource_opened_after_the_rollback_ended_is_closed_at_once(tmp_path: Path) -> None:
    ended: list[float | None] = [None]
    m, journal, handler = manager(tmp_path, ended)
    m.opened("silence", "early", "silence one", step="silence", until=2600.0, params={})
    ended[0] = 1500.0
    await m.close_all("the rollback ended", 1500.0)
    m.adopt("silence-late", {"held": {"kind": "silence", "id": "late", "what": "silence two", "until": 2600.0}},
            began=1400.0)    # the step started before the rollback ended; Alertmanager answered after
    await m.drain()
    assert handler.closed == [("early", 1500.0), ("late", 1500.0)]
    assert [(e["id"], e["reason"]) for e in journal if e["type"] == "held_closed"] == [
        ("early", "the rollback ended"), ("late", "the rollback had ended when it opened")]
    assert m.open == {}


async def test_a_resource_opened_while_the_rollback_runs_stays_open(tmp_path: Path) -> None:
    m, journal, handler = manager(tmp_path, [None])
    m.opened("silence", "s1", "silence one", step="silence", until=2600.0, params={})
    await m.drain()
    assert [e["type"] for e in journal] == ["held_opened"]
    assert handler.closed == []
    assert list(m.open) == [("silence", "s1")]


async def test_a_resource_opened_after_an_abandon_closed_everything_is_closed_too(tmp_path: Path) -> None:
    m, journal, handler = manager(tmp_path, [None])     # `cockpit abandon`: the rollback never ended
    await m.close_all("the session was abandoned")
    m.opened("silence", "late", "silence", step="silence", until=2600.0, params={})
    await m.drain()
    assert handler.closed == [("late", None)]
    assert [(e["id"], e["reason"]) for e in journal if e["type"] == "held_closed"] == [
        ("late", "it opened after the session's resources were closed")]


async def test_a_silence_step_fired_after_the_rollback_ended_is_kept(tmp_path: Path) -> None:
    ended: list[float | None] = [1500.0]
    m, journal, handler = manager(tmp_path, ended)
    await m.close_all("the rollback ended", 1500.0)
    m.adopt("silence-after", {"held": {"kind": "silence", "id": "after", "what": "silence", "until": 2600.0}},
            began=1600.0)
    await m.drain()
    assert handler.closed == []
    assert [e["type"] for e in journal] == ["held_opened"]
    assert list(m.open) == [("silence", "after")]
