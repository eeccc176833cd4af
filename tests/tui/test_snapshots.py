"""Snapshot tests: the cockpit's fixed scenes (cockpit.tui.scenes) must look exactly as committed.

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
(and ``python -m cockpit.tui.screenshots`` for the README's SVGs).
"""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.tui import scenes


@pytest.mark.parametrize("name", scenes.SCENES)
def test_scene(name: str, snap_compare: Any) -> None:
    app, setup = scenes.build(name)
    assert snap_compare(app, terminal_size=scenes.scene(name).size, run_before=setup)
