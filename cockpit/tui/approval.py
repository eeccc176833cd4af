"""The two-person rule on the observer's screen: the driver's request, approved by typing the environment.

Opened for an observer of ANOTHER Unix user than the driver when the followed
journal gets an ``approval_requested`` entry: shows who asks, the step, the exact
command after substitution, the hosts, the preview and when it expires. Approve
needs the environment name typed; Refuse needs a reason; Later closes it (the
request stays answerable with ``cockpit approve STEP`` until it expires).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from cockpit.tui.modal import Modal
from cockpit.tui.screens import MODAL_CSS


@dataclass(frozen=True)
class ApprovalPrompt:
    """What the approver is shown (plain values from the journal entry)."""

    step_id: str
    title: str
    command: str | None
    hosts: tuple[str, ...]
    preview: str
    requested_by: str
    expires: float
    environment: str


@dataclass(frozen=True)
class ApprovalAnswer:
    decision: Literal["approve", "refuse"]
    confirmation: str | None = None
    reason: str = ""


class ApprovalScreen(Modal[ApprovalAnswer | None]):
    """Approve (typed environment) or refuse (reason) the driver's request."""

    DEFAULT_CSS = MODAL_CSS
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "later", "Later")]

    def __init__(self, prompt: ApprovalPrompt) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        p = self.prompt
        expires = time.strftime("%H:%M:%S", time.localtime(p.expires))
        with Vertical(id="dialog", classes="-with-preview" if p.preview else ""):
            yield Label(f"Approval requested by {p.requested_by}: {p.step_id} — {p.title}", classes="title",
                        markup=False)
            yield Label("command (exactly what will run)", classes="field")
            yield Static(Content(p.command or "(none)"), classes="command", id="command")
            hosts = ", ".join(p.hosts) or "the bastion (a local step)"
            yield Static(Content.assemble(("on ", "$text-muted"), (hosts, "bold"),
                                          (f"   expires {expires}", "$warning")), id="hosts")
            if p.preview:
                with VerticalScroll(id="preview"):
                    yield Static(Content(p.preview.rstrip()), id="preview-text")
            yield Label(f"type the environment name ({p.environment}) to approve", classes="field", markup=False)
            yield Input(placeholder=f"type {p.environment} here", id="typed")
            yield Input(placeholder="or a reason to refuse", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Later", id="later")
                yield Button("Refuse", id="refuse", variant="warning")
                yield Button("Approve", id="approve", variant="error")

    def on_mount(self) -> None:
        self._update()
        self.query_one("#typed", Input).focus()

    def _update(self) -> None:
        typed = self.query_one("#typed", Input).value.strip()
        self.query_one("#approve", Button).disabled = typed != self.prompt.environment
        self.query_one("#refuse", Button).disabled = not self.query_one("#reason", Input).value.strip()

    @on(Input.Changed)
    def _changed(self) -> None:
        self._update()

    @on(Input.Submitted, "#typed")
    @on(Button.Pressed, "#approve")
    def _approve(self) -> None:
        typed = self.query_one("#typed", Input).value.strip()
        if typed == self.prompt.environment:
            self.dismiss(ApprovalAnswer("approve", confirmation=typed))

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#refuse")
    def _refuse(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if reason:
            self.dismiss(ApprovalAnswer("refuse", reason=reason))

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        self.dismiss(None)
