"""Read what is on a running app's screen as plain text (for assertions)."""

from __future__ import annotations

from textual.app import App


def screen_text(app: App[object]) -> str:
    """The whole screen, one line per row, as the terminal would show it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip).rstrip() for strip in strips)
