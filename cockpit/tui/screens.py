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
from textual.widgets import Button, Checkbox, Input, Label, Static

from cockpit.tui.modal import Modal

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
ModalScreen.cockpit-modal #preview { height: auto; max-height: 12; border: round $panel-lighten-2; overflow-x: auto; }
ModalScreen.cockpit-modal #preview-text { width: auto; text-wrap: nowrap; }
ModalScreen.cockpit-modal > Vertical.-with-preview { height: 95%; max-height: 95%; }
ModalScreen.cockpit-modal Vertical.-with-preview #preview { height: 1fr; max-height: 100%; min-height: 5; }
ModalScreen.cockpit-modal Horizontal.buttons { height: auto; align-horizontal: right; margin-top: 1; }
ModalScreen.cockpit-modal Button { margin-left: 2; }
ModalScreen.cockpit-modal #why-not { height: auto; }
ModalScreen.cockpit-modal #why-not:empty { display: none; }
ModalScreen.cockpit-modal DetailText { height: auto; }
ModalScreen.cockpit-modal > Vertical.-detail { height: 95%; max-height: 95%; }
ModalScreen.cockpit-modal Vertical.-detail VerticalScroll { height: 1fr; }
App.-small ModalScreen.cockpit-modal > Vertical { width: 100%; max-height: 100%; padding: 0; border: tall $accent; }
App.-small ModalScreen.cockpit-modal > Vertical.-with-preview { height: 100%; max-height: 100%; }
App.-small ModalScreen.cockpit-modal .title { margin-bottom: 0; }
App.-small ModalScreen.cockpit-modal .command { margin-bottom: 0; }
App.-small ModalScreen.cockpit-modal #note { display: none; }
App.-small ModalScreen.cockpit-modal Input { border: none; height: 1; padding: 0 1; background: $boost; }
App.-small ModalScreen.cockpit-modal Horizontal.buttons { margin-top: 0; }
App.-small ModalScreen.cockpit-modal Button { height: 1; border: none; min-width: 10; }
"""
OVERRIDE_HELP = "Fire stays disabled until the override is ticked (Tab to it, Space ticks it); the override is journalled."
SMALL_HEIGHT = 30  # below this many rows the app has the "-small" class: dialogs drop margins and borders


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
    clock_note: str = ""  # what firing it means for the RTO clock when the clock has not started
    last_run: str = ""  # the last run, when it did not succeed


@dataclass(frozen=True)
class Confirmed:
    confirmation: str | None
    override: bool


class ConfirmStepScreen(Modal[Confirmed | None]):
    """Shows what will run where, the preview, and asks (typed) confirmation."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, prompt: StepPrompt, preview: Callable[[], Awaitable[str]] | None = None) -> None:
        super().__init__()
        self.prompt = prompt
        self._preview = preview

    def compose(self) -> ComposeResult:
        p = self.prompt
        with Vertical(id="dialog", classes="-with-preview" if p.has_preview else ""):
            yield Label(f"Fire step {p.step_id}: {p.title}", classes="title", markup=False)
            if p.command:
                yield Static(Content.assemble(("$ ", "$text-muted"), p.command), classes="command", id="command")
            hosts = p.where or (", ".join(p.hosts) if p.hosts else "(runs locally / no hosts)")
            yield Static(Content.assemble(("where: ", "$text-muted"), (hosts, "bold")), id="hosts")
            if p.note:
                yield Static(Content.assemble(("why / watch: ", "$text-muted"), p.note), id="note")
            if p.destructive:
                yield Label("⚠ destructive: runs on one host, cannot be undone by cockpit", classes="warning")
            if p.last_run:
                yield Label(f"✘ {p.last_run}", classes="warning", id="last-run", markup=False)
            if p.clock_note:
                yield Label(f"⏱ {p.clock_note}", classes="warning" if "not started" in p.clock_note else "field",
                            id="clock-note", markup=False)
            if p.has_preview:
                with VerticalScroll(id="preview"):
                    yield Static(Content("loading preview…"), id="preview-text")
            if p.missing:
                yield Label(
                    f"⚠ precondition missing: {', '.join(p.missing)} has not succeeded", classes="warning", markup=False
                )
                yield Static(Content(OVERRIDE_HELP), classes="field", id="override-help")
                yield Checkbox("override the precondition (journalled)", id="override")
            if p.needs == "type":
                yield Label(f"type the environment name ({p.environment}) to confirm", classes="field", markup=False)
                yield Input(placeholder=f"type {p.environment} here", id="typed")
            yield Static("", id="why-not", classes="warning")
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
        else:
            self.explain()

    def explain(self) -> None:
        """Say why Fire is disabled (instead of doing nothing), and go where it can be fixed."""
        why = self.query_one("#why-not", Static)
        if self.prompt.missing and not self.query_one("#override", Checkbox).value:
            why.update(Content("Fire is disabled: tick the override first (focused now: Space ticks it)"))
            self.query_one("#override", Checkbox).focus()
        elif self.prompt.needs == "type":
            why.update(Content(f"Fire is disabled: type {self.prompt.environment} exactly"))
            self.query_one("#typed", Input).focus()

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


class ManualTickScreen(Modal[Ticked | None]):
    """Tick a manual step, with an optional note (and the environment typed, when it asks for it)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

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


class YesNoScreen(Modal[bool]):
    """A question with Yes / No (Enter: yes, Escape: no)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "No", id="cancel"), Binding("y", "yes", "Yes", show=False)
    ]

    def __init__(self, question: str, yes: str = "Yes", detail: str = "", *, safe_default: bool = False,
                 about_step: str | None = None) -> None:
        super().__init__()
        self.question, self.yes_label, self.detail = question, yes, detail
        self.safe_default = safe_default  # Enter answers No: the question's yes is the risky choice
        self.about_step = about_step      # the running step it asks about: closed when that step ends

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title", markup=False)
            if self.detail:
                yield Static(Content(self.detail))
            with Horizontal(classes="buttons"):
                yield Button("No", id="no")
                yield Button(self.yes_label, id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no" if self.safe_default else "#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class FilterScreen(Modal[str | None]):
    """Type a step id to filter the log (empty: show all)."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

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


class HelpScreen(Modal[None]):
    """Every key: the app's own and every step's."""

    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    DEFAULT_CSS = MODAL_CSS + """
    HelpScreen > Vertical { max-height: 95%; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="cancel"), Binding("q,question_mark", "close", show=False)
    ]

    def __init__(self, app_keys: Sequence[tuple[str, str]], step_keys: Sequence[tuple[str, str, str]],
                 read_only: bool) -> None:
        super().__init__()
        self.app_keys, self.step_keys, self.read_only = list(app_keys), list(step_keys), read_only

    def compose(self) -> ComposeResult:
        lines: list[Content] = [
            Content.styled("Escape closes · ↑↓ PgUp PgDn Home End move the checklist cursor · "
                           "Enter fires/opens · Space: detail", "$text-muted"),
            Content.styled("Symbols", "bold"),
        ]
        wide = self.app.size.width >= 110
        legend = [Content.assemble((sym, style), f" {word}") for sym, style, word in LEGEND]
        lines += _columns(legend, 2 if wide else 1, 50)
        lines.append(Content.styled("Keys", "bold"))
        lines += _columns([Content.assemble((f"{k:<8}", "bold $accent"), d) for k, d in self.app_keys],
                          3 if wide else 2, 30)
        head = "Steps" + (" (read-only session: none can be fired)" if self.read_only else "")
        lines.append(Content.styled(head, "bold"))
        for key, step_id, title in self.step_keys:
            lines.append(Content.assemble((f"  {key or '-':<8}", "bold $accent"), (f"{step_id:<22}", "bold"), title))
        lines.append(Content.styled("ctrl+p: command palette (every step by name)", "$text-muted"))
        lines.append(Content.styled("hosts of a step: f cycles its filter (all / failed / unreachable)", "$text-muted"))
        with Vertical(), VerticalScroll():
            yield Static(Content("\n").join(lines), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)


LEGEND: tuple[tuple[str, str, str], ...] = (
    ("○", "$text-muted", "step not run yet"),
    ("›", "bold $accent", "the runbook's next step"),
    ("▶", "bold $accent", "step running"),
    ("✔", "bold $success", "step succeeded / check holds"),
    ("✘", "bold $error", "step failed / check failing"),
    ("◐", "bold $warning", "step partial: some hosts failed"),
    ("■", "bold $warning", "step cancelled"),
    ("⊘", "bold $warning", "step refused by the guard"),
    ("!", "bold reverse $error", "a failure not looked at yet (Space opens it)"),
    ("…", "$text-muted", "check pending: no sample yet"),
    ("?", "bold $warning", "check unknown: data stale or missing"),
    ("⌛", "bold $error", "check missed its deadline"),
    ("⚠", "bold $warning", "panel data stale"),
)


class DetailScreen(Modal[None]):
    """A step's or a check's detail: per-host results with exit codes and output, or check history."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="cancel"), Binding("q,space", "close", show=False)
    ]

    def __init__(self, title: str, text: str, *, kind: str = "step", row_id: str = "") -> None:
        super().__init__()
        self.title_text, self.text, self.kind, self.row_id = title, text, kind, row_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="-detail"):
            yield Label(self.title_text, classes="title", markup=False)
            with VerticalScroll(id="detail-scroll"):
                yield Static(Content(self.text), id="detail-text")
            yield Static(Content("Escape closes · ↑↓ PgUp PgDn scroll"), classes="field")

    def on_mount(self) -> None:
        self.query_one("#detail-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _columns(cells: Sequence[Content], n: int, width: int) -> list[Content]:
    """``cells`` laid out in ``n`` columns of ``width`` cells, row by row."""
    rows = []
    for i in range(0, len(cells), n):
        row = [Content("  ")]
        for cell in cells[i:i + n]:
            row += [cell, Content(" " * max(1, width - cell.cell_length))]
        rows.append(Content.assemble(*row).rstrip())
    return rows
