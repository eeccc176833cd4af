"""Read what is on a running app's screen as plain text (for assertions), through public APIs only.

``App.export_screenshot()`` gives the screen as SVG: one ``<text>`` per run of same-styled
cells, each naming its line (``clip-path="url(#…-line-N)"``) and its column (``x``, in cells of
``CELL`` pixels). Joining them back gives the terminal's text.
"""

from __future__ import annotations

import html
import re

from textual.app import App

from widgets.checklist import STEP_SYMBOLS, Checklist

CELL = 12.2  # Textual's SVG export: the width of one cell in pixels
_TEXT = re.compile(r'<text[^>]* x="([0-9.]+)"[^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>([^<]*)</text>')


def screen_text(app: App[object]) -> str:
    """The whole screen, one line per row, as the terminal would show it."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        rows.setdefault(int(line), []).append((round(float(x) / CELL), html.unescape(text).replace("\xa0", " ")))
    out = []
    for n in range(max(rows, default=-1) + 1):
        chars: list[str] = []
        for col, text in sorted(rows.get(n, [])):
            if len(chars) < col:
                chars += [" "] * (col - len(chars))
            chars[col:col + len(text)] = list(text)
        out.append("".join(chars).rstrip())
    return "\n".join(out)


def checklist_text(app: App[object]) -> str:
    """The checklist as ``<symbol> <title>  <state>`` per step (the checks as drawn)."""
    checklist = app.query_one(Checklist)
    steps = {s.step_id: s for s in checklist.steps}
    out = []
    for kind, row_id in checklist.rows():
        if kind == "step":
            s = steps[row_id]
            detail = f"  {s.detail}" if s.detail else ""
            out.append(f"{STEP_SYMBOLS.get(s.state, ('?', ''))[0]} {s.title}  {checklist.progress(s)}{detail}")
    out += [line.plain for line in checklist.lines() if line.plain.startswith("       ")]
    return "\n".join(out)
