"""Modal screens: step confirmation (with preview and typed confirmation), manual tick,
yes/no questions, the log filter and the help screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

# Global (unscoped) rules, limited to our modals by the class: scoped DEFAULT_CSS would prefix
# every selector with the screen's own type, and "ModalScreen > Vertical" would match nothing.
MODAL_CSS = """
ModalScreen.cockpit-modal { align: center middle; }
ModalScreen.cockpit-modal > Vertical {
    width: 90%; max-width: 110; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 0 1;
}
ModalScreen.cockpit-modal .title { text-style: bold; width: 1fr; margin-bottom: 1; }
ModalScreen.cockpit-modal .field { color: $text-muted; }
ModalScreen.cockpit-modal .command { background: $boost; padding: 0 1; margin-bottom: 1; }
ModalScreen.cockpit-modal .warning { color: $warning; text-style: bold; }
ModalScreen.cockpit-modal #preview { height: auto; max-height: 12; border: round $panel-lighten-2; }
ModalScreen.cockpit-modal > Vertical.-with-preview { height: 95%; max-height: 95%; }
ModalScreen.cockpit-modal Vertical.-with-preview #preview { height: 1fr; max-height: 100%; min-height: 5; }
ModalScreen.cockpit-modal Horizontal.buttons { height: auto; align-horizontal: right; margin-top: 1; }
ModalScreen.cockpit-modal Button { margin-left: 2; }
"""


@dataclass(frozen=True)
class StepPrompt:
    """Everything the confirmation shows about a step (all plain, nothing secret)."""

    step_id: str
    title: str
    command: str | None
    hosts: tuple[str, ...]
    note: str
    environment: str
    needs: str  # "none" | "yes" | "type"
    destructive: bool = False
    missing: tuple[str, ...] = ()  # `after` steps not yet succeeded: an override is needed
    has_preview: bool = False
    where: str = ""  # "ONE host, the first reachable of: console" (cockpit.targets)


@dataclass(frozen=True)
class Confirmed:
    confirmation: str | None
    override: bool


class ConfirmStepScreen(ModalScreen[Confirmed | None]):
    """Shows what will run where, the preview, and asks (typed) confirmation."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: StepPrompt, preview: Callable[[], Awaitable[str]] | None = None) -> None:
        super().__init__()
        self.prompt = prompt
        self._preview = preview

    def compose(self) -> ComposeResult:
        p = self.prompt
        with Vertical(id="dialog", classes="-with-preview" if p.has_preview else ""):
            yield Label(f"Fire step {p.step_id}: {p.title}", classes="title", markup=False)
            if p.command:
                yield Label("command", classes="field")
                yield Static(Content(p.command), classes="command", id="command")
            hosts = p.where or (", ".join(p.hosts) if p.hosts else "(runs locally / no hosts)")
            yield Static(Content.assemble(("on ", "$text-muted"), (hosts, "bold")), id="hosts")
            if p.note:
                yield Static(Content.assemble(("why / watch: ", "$text-muted"), p.note), id="note")
            if p.destructive:
                yield Label("⚠ destructive: runs on one host, cannot be undone by cockpit", classes="warning")
            if p.has_preview:
                with VerticalScroll(id="preview"):
                    yield Static(Content("loading preview…"), id="preview-text")
            if p.missing:
                yield Label(
                    f"⚠ precondition missing: {', '.join(p.missing)} has not succeeded", classes="warning", markup=False
                )
                yield Checkbox("override the precondition (journalled)", id="override")
            if p.needs == "type":
                yield Label(f"type the environment name ({p.environment}) to confirm", classes="field", markup=False)
                yield Input(placeholder=f"type {p.environment} here", id="typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Fire", id="fire", variant="error" if p.destructive else "primary")

    def on_mount(self) -> None:
        self._update_fire()
        if self.prompt.needs == "type":
            self.query_one("#typed", Input).focus()
        else:
            self.query_one("#fire", Button).focus()
        if self.prompt.has_preview and self._preview is not None:
            self.load_preview()

    @work(exclusive=True, group="preview")
    async def load_preview(self) -> None:
        assert self._preview is not None
        try:
            text = await self._preview()
        except Exception as exc:  # any failure is shown, never raised into the UI
            text = f"preview failed: {exc}"
        self.query_one("#preview-text", Static).update(Content(text.rstrip() or "(no output)"))

    def ready(self) -> bool:
        """Whether the Fire button may be pressed: typed name matches, override ticked if needed."""
        if self.prompt.missing and not self.query_one("#override", Checkbox).value:
            return False
        if self.prompt.needs == "type":
            return self.query_one("#typed", Input).value.strip() == self.prompt.environment
        return True

    def _update_fire(self) -> None:
        self.query_one("#fire", Button).disabled = not self.ready()

    @on(Input.Changed, "#typed")
    @on(Checkbox.Changed, "#override")
    def _changed(self) -> None:
        self._update_fire()

    @on(Input.Submitted, "#typed")
    def _submitted(self) -> None:
        if self.ready():
            self._fire()

    @on(Button.Pressed, "#fire")
    def _fire(self) -> None:
        if not self.ready():
            return
        typed = self.query_one("#typed", Input).value.strip() if self.prompt.needs == "type" else None
        override = bool(self.prompt.missing) and self.query_one("#override", Checkbox).value
        self.dismiss(Confirmed(typed, override))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Ticked:
    note: str
    confirmation: str | None = None  # the typed environment name (``confirm = "type"`` steps)


class ManualTickScreen(ModalScreen[Ticked | None]):
    """Tick a manual step, with an optional note (and the environment typed, when it asks for it)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, step_id: str, title: str, note: str = "", environment: str | None = None) -> None:
        super().__init__()
        self.step_id, self.step_title, self.note = step_id, title, note
        self.environment = environment  # set: the step has confirm = "type"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Tick manual step {self.step_id}: {self.step_title}", classes="title", markup=False)
            if self.note:
                yield Static(Content(self.note))
            yield Input(placeholder="optional note (journalled), Enter to tick", id="note")
            if self.environment is not None:
                yield Label(f"type the environment name ({self.environment}) to confirm", classes="field",
                            markup=False)
                yield Input(placeholder=f"type {self.environment} here", id="typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Tick", id="tick", variant="primary", disabled=self.environment is not None)

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()

    def ready(self) -> bool:
        return self.environment is None or self.query_one("#typed", Input).value.strip() == self.environment

    @on(Input.Changed, "#typed")
    def _typed(self) -> None:
        self.query_one("#tick", Button).disabled = not self.ready()

    @on(Input.Submitted)
    @on(Button.Pressed, "#tick")
    def _tick(self) -> None:
        if not self.ready():
            self.query_one("#typed", Input).focus()
            return
        typed = self.query_one("#typed", Input).value.strip() if self.environment is not None else None
        self.dismiss(Ticked(self.query_one("#note", Input).value.strip(), typed))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class YesNoScreen(ModalScreen[bool]):
    """A question with Yes / No (Enter: yes, Escape: no)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes", show=False)]

    def __init__(self, question: str, yes: str = "Yes", detail: str = "") -> None:
        super().__init__()
        self.question, self.yes_label, self.detail = question, yes, detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title", markup=False)
            if self.detail:
                yield Static(Content(self.detail))
            with Horizontal(classes="buttons"):
                yield Button("No", id="no")
                yield Button(self.yes_label, id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class FilterScreen(ModalScreen[str | None]):
    """Type a step id to filter the log (empty: show all)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, step_ids: Sequence[str]) -> None:
        super().__init__()
        self.step_ids = list(step_ids)

    def compose(self) -> ComposeResult:
        from textual.suggester import SuggestFromList

        with Vertical():
            yield Label("Filter the log by step (empty: all)", classes="title")
            yield Static(Content("steps: " + ", ".join(self.step_ids)), classes="field")
            yield Input(placeholder="step id", id="filter", suggester=SuggestFromList(self.step_ids))

    def on_mount(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key: the app's own and every step's."""

    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    DEFAULT_CSS = MODAL_CSS + """
    HelpScreen > Vertical { max-height: 95%; }
    HelpScreen VerticalScroll { height: auto; max-height: 30; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, app_keys: Sequence[tuple[str, str]], step_keys: Sequence[tuple[str, str, str]],
                 read_only: bool) -> None:
        super().__init__()
        self.app_keys, self.step_keys, self.read_only = list(app_keys), list(step_keys), read_only

    def compose(self) -> ComposeResult:
        lines: list[Content] = [Content.styled("Keys", "bold")]
        lines += [Content.assemble((f"  {k:<10}", "bold $accent"), d) for k, d in self.app_keys]
        lines.append(Content(""))
        head = "Steps" + (" (read-only session: none can be fired)" if self.read_only else "")
        lines.append(Content.styled(head, "bold"))
        for key, step_id, title in self.step_keys:
            lines.append(Content.assemble((f"  {key or '-':<10}", "bold $accent"), (f"{step_id:<22}", "bold"), title))
        lines.append(Content(""))
        lines.append(Content.styled("ctrl+p: command palette (every step by name) · Escape closes", "$text-muted"))
        with Vertical(), VerticalScroll():
            yield Static(Content("\n").join(lines), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
