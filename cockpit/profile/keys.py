"""The app's own keys: steps may not take them (the TUI imports this too).

``APP_KEYS`` maps each app action to its default key; ``[cockpit] keys`` may
rebind actions. ``ctrl+b`` and ``ctrl+a`` are the tmux and screen prefixes:
the cockpit is often run inside them, so nothing may be bound to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# The one table of the app's keys: action -> (default key, what it does). The loader refuses a
# step key that collides with one of them, `[cockpit] keys` may rebind any of them, and the TUI
# builds every binding from it (tests check each action is bound to its key somewhere in the app).
APP_ACTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "quit": ("q", "Quit"),
        "help": ("?", "Help"),
        "start_rollback": ("r", "Start rollback"),
        "force_quit": ("ctrl+q", "Quit"),
        "command_palette": ("ctrl+p", "Commands"),
        "focus_next": ("tab", "Next field"),
        "cancel": ("escape", "Close dialog"),
        "select": ("enter", "Fire / open"),
        "cursor_up": ("up", "Up"),
        "cursor_down": ("down", "Down"),
        "filter": ("/", "Filter log…"),
        "toggle": ("space", "Detail"),
        # the TUI's own: cycle the log's step filter, cancel the running step, theme
        "cycle_filter": ("ctrl+f", "Log filter"),
        "cancel_step": ("ctrl+k", "Cancel step"),
        "toggle_theme": ("ctrl+t", "Theme"),
        # fleets: every host of the selected step; a rolling step stops once its running batch ends
        "hosts": ("ctrl+o", "Hosts of step"),
        "stop_after_batch": ("ctrl+backslash", "Stop after batch"),
    }
)
APP_KEYS: Mapping[str, str] = MappingProxyType({a: k for a, (k, _label) in APP_ACTIONS.items()})
MULTIPLEXER_KEYS: Mapping[str, str] = MappingProxyType(
    {"ctrl+b": "the tmux prefix", "ctrl+a": "the screen prefix"}
)
# Every key a step may not use with the default bindings.
RESERVED_KEYS: frozenset[str] = frozenset(APP_KEYS.values()) | frozenset(MULTIPLEXER_KEYS)

_ALIASES = {
    "?": "question_mark",
    "/": "slash",
    " ": "space",
    "esc": "escape",
    "return": "enter",
    "ctrl+i": "tab",
    "ctrl+m": "enter",
    "ctrl+[": "escape",
    "ctrl+\\": "ctrl+backslash",
}


def normalize_key(key: str) -> str:
    """One spelling per key (Textual's names): ``"?"`` and ``"question_mark"`` are the same key."""
    parts = key.split("+")
    if len(parts) > 1 and parts[-1] == "":  # "ctrl++"
        parts = [*parts[:-2], "plus"]
    mods = [m.lower() for m in parts[:-1]]
    last = parts[-1]
    if len(last) > 1 or mods:
        last = last.lower()
    k = "+".join([*mods, last])
    return _ALIASES.get(k, k)


def app_keys(rebinding: Mapping[str, str] | None = None) -> dict[str, str]:
    """Action -> key with ``[cockpit] keys`` applied."""
    out = dict(APP_KEYS)
    out.update(rebinding or {})
    return out


def reserved_for(key: str, rebinding: Mapping[str, str] | None = None) -> str | None:
    """What ``key`` is already used for (``"the app's help"``), or None when a step may take it."""
    k = normalize_key(key)
    for action, bound in app_keys(rebinding).items():
        if normalize_key(bound) == k:
            return f"the app's {action.replace('_', ' ')} key"
    for bound, what in MULTIPLEXER_KEYS.items():
        if normalize_key(bound) == k:
            return what
    return None
