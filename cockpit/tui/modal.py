"""Dialogs, and the command palette, that only ever close themselves.

Textual's `Screen.dismiss` pops whatever screen is on top, not the one dismissed. Keys that
arrive together (a fast typist, or a browser visitor's keys batched over the websocket) can
make a screen dismiss itself twice (two Enters in the command palette, a submit and a button),
and the second dismiss popped the screen beneath it: the dialog the operator was answering,
or with only the main screen left, the app itself (ScreenStackError). And a dialog closed by
an event while another screen covered it (a "Cancel step?" whose step ended under the open
palette) popped the palette instead.

`dismiss` here acts on its own screen only:

- on top: closes as usual;
- covered by another screen: closes the moment it is on top again, with the result given now;
- already closed: does nothing.

Each was found by posting a browser visitor's keys to the app as they arrive, together
(``tests/tui/test_keys_together.py``).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from textual import on, work
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.events import ScreenResume
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, OptionList

ResultT = TypeVar("ResultT")


def nothing_to_await(node: MessagePump) -> AwaitComplete:
    """What a pop or dismiss that does nothing returns (callers may await it, as Textual's own)."""
    async def nothing() -> None:
        return None

    return AwaitComplete(nothing()).call_next(node)


class ClosesOnlyItself:
    """Mixin, the first base of a `Screen` subclass: `dismiss` never pops another screen (module
    docstring). Not a Screen itself: that would reorder Textual's own bases (the palette's
    component classes went missing)."""

    _deferred: tuple[Any] | None = None

    @property
    def off_the_stack(self) -> bool:
        """Dismissed already (its messages may still be handled: keys that reached it before)."""
        screen: Screen[Any] = self  # type: ignore[assignment]  # mixed into Screen subclasses only
        return screen not in screen.app.screen_stack

    def dismiss(self, result: Any = None) -> AwaitComplete:
        screen: Screen[Any] = self  # type: ignore[assignment]  # mixed into Screen subclasses only
        stack = screen.app.screen_stack
        if self.off_the_stack:
            return nothing_to_await(screen)                 # dismissed already: a second dismiss is a no-op
        if stack[-1] is not screen:
            self._deferred = (result,)           # covered: close when uncovered
            return nothing_to_await(screen)
        return super().dismiss(result)  # type: ignore[misc,no-any-return]

    def on_screen_resume(self, _: ScreenResume) -> None:
        """Textual calls this by name on every class of the screen's MRO, mixins included."""
        if self._deferred is not None:
            (result,) = self._deferred
            self._deferred = None
            self.dismiss(result)


class Modal(ClosesOnlyItself, ModalScreen[ResultT], Generic[ResultT]):
    """The base of every cockpit dialog."""


class Palette(ClosesOnlyItself, CommandPalette):
    """Textual's command palette, closing only itself (its Enter handler dismisses once per Enter),
    and running the chosen command once.

    Textual's Enter handler dismisses the palette and then runs the selected command, every time.
    Enters that reached the palette's input before the first one closed it are still handled by
    the closed palette, so the command ran once per Enter: three theme pickers over each other,
    or a step's "Fire" twice. Once closed, the palette ignores them.

    Its search also ends quietly when the palette closed under it: a key typed just before the
    Enter that closed it starts a search that finds the palette's list already gone, and Textual
    let that NoMatches end the whole app.
    """

    @on(Input.Submitted)
    @on(Button.Pressed)
    @on(OptionList.OptionSelected)
    def _closed_runs_nothing(self, event: Message) -> None:
        """Runs before Textual's own handlers (this class comes first); stops them once closed."""
        if self.off_the_stack:
            event.prevent_default()
            event.stop()

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        search = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]  # Textual's, unwrapped
        try:
            await search(self, search_value)
        except NoMatches:
            if not self.off_the_stack:
                raise                               # open, so a real fault: let it show
