"""The command palette (ctrl+p): every step by name, plus the app's own actions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cockpit.kinds import step_kind

if TYPE_CHECKING:
    from cockpit.tui.app import CockpitApp


class StepCommands(Provider):
    """One command per step ("Fire step: …" / "Tick manual step: …")."""

    def _items(self) -> list[tuple[str, str, str]]:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        items = []
        for step in app.profile.steps:
            verb = "Tick manual step" if step_kind(step.kind).ticked else "Fire step"
            key = f" (key {step.key})" if step.key else ""
            items.append((f"{verb}: {step.id} — {step.title}{key}", step.id, step.note or step.phase))
        return items

    async def discover(self) -> Hits:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        for text, step_id, help_text in self._items():
            yield DiscoveryHit(text, partial(app.action_fire, step_id), help=help_text)

    async def search(self, query: str) -> Hits:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        matcher = self.matcher(query)
        for text, step_id, help_text in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(app.action_fire, step_id), help=help_text)
