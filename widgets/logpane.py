"""The log pane: host-prefixed live output of steps, newest at the bottom, filterable by step."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import RichLog


@dataclass(frozen=True)
class LogLine:
    step_id: str
    host: str
    text: str
    stream: str = "stdout"


class LogPane(RichLog):
    """A RichLog that keeps a bounded copy of its lines so a step filter can redraw them."""

    DEFAULT_CSS = """
    LogPane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        height: 1fr;
        min-height: 3;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    """

    def __init__(self, *, max_lines: int = 2000, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, wrap=False, markup=False, highlight=False, auto_scroll=True, id=id)
        self._kept: deque[LogLine] = deque(maxlen=max_lines)
        self.step_filter: str | None = None
        self.host_width = 0  # host prefixes padded to this width, so the output lines up
        self.border_title = "output"

    def add(self, line: LogLine) -> None:
        """Append one line (drawn only when it passes the filter)."""
        self._kept.append(line)
        if self.step_filter is None or line.step_id == self.step_filter:
            self.write(self._format(line))

    def set_filter(self, step_id: str | None) -> None:
        """Show only ``step_id``'s lines (None: all), redrawing from the kept lines."""
        self.step_filter = step_id
        self.border_title = f"output — step {step_id}" if step_id else "output"
        self.clear()
        for line in self._kept:
            if step_id is None or line.step_id == step_id:
                self.write(self._format(line))

    def reset(self) -> None:
        """Forget every line (a replay jumping back redraws the pane as it was then)."""
        self._kept.clear()
        self.clear()

    def steps_seen(self) -> list[str]:
        """Step ids with output, in order of first appearance."""
        return list(dict.fromkeys(line.step_id for line in self._kept))

    def plain_lines(self) -> list[str]:
        """The lines currently shown, as plain text (tests read it)."""
        return [line.text for line in self.lines]

    def _format(self, line: LogLine) -> Text:
        text = Text(no_wrap=True)
        text.append(line.host.ljust(self.host_width), style="bold red" if line.stream == "error" else "bold cyan")
        text.append(" │ ", style="dim")
        text.append(line.text, style="red" if line.stream in ("stderr", "error") else "")
        return text
