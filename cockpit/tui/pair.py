"""Pair driving in the TUI: hand the wheel over to another user, accept it, take over from a gone driver.

`PairCommands` adds to the command palette (ctrl+p) "Hand over driving to…" for the
driver and "Take over driving" for an observer when the driver is gone; the offer
to an observer arrives as a yes/no question (see `CockpitApp._on_journal`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from cockpit.tui.modal import Modal
from cockpit.tui.screens import MODAL_CSS

if TYPE_CHECKING:
    from cockpit.tui.app import CockpitApp


class HandOverScreen(Modal[str | None]):
    """Asks the Unix user to hand over to."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Hand over driving", classes="title")
            yield Label("the Unix user who takes the wheel (they accept on their cockpit; the journal and "
                        "the RTO clock go on)", classes="field")
            yield Input(placeholder="user name", id="user")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Offer", id="offer", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#user", Input).focus()

    @on(Input.Submitted, "#user")
    @on(Button.Pressed, "#offer")
    def _offer(self) -> None:
        user = self.query_one("#user", Input).value.strip()
        if user:
            self.dismiss(user)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PairCommands(Provider):
    """Palette commands for handing over and taking over."""

    def _items(self) -> list[tuple[str, str]]:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        c = app.controller
        if c is None or not hasattr(c, "hand_over"):
            return []
        items = []
        if c.is_driver:
            items.append(("Hand over driving to another user…", "hand_over"))
        elif c.driver_state == "gone" and not c.forced_read_only:
            items.append(("Take over driving (the driver is gone)", "take_over"))
        return items

    async def discover(self) -> Hits:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        for text, action in self._items():
            yield DiscoveryHit(text, getattr(app, f"action_{action}"))

    async def search(self, query: str) -> Hits:
        app: CockpitApp = self.app  # type: ignore[assignment]  # only CockpitApp registers this provider
        matcher = self.matcher(query)
        for text, action in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), getattr(app, f"action_{action}"))
