"""Render-only Textual widgets for cockpit.

They receive plain values (``widgets.data``) and draw them. They never open a
socket, read a profile or know what SSH is; the app (``cockpit.tui``) turns
engine objects into these values.
"""

from widgets.data import CheckRow, HeaderInfo, PanelData, StepRow

__all__ = ["CheckRow", "HeaderInfo", "PanelData", "StepRow"]
