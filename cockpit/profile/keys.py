"""The app's own keys: steps may not take them (the TUI imports this too).

``APP_KEYS`` maps each app action to its default key; ``[cockpit] keys`` may
rebind actions. ``ctrl+b`` and ``ctrl+a`` are the tmux and screen prefixes:
the cockpit is often run inside them, so nothing may be bound to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

APP_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "quit": "q",
        "help": "?",
        "start_rollback": "r",
        "force_quit": "ctrl+q",
        "command_palette": "ctrl+p",
        "focus_next": "tab",
        "cancel": "escape",
        "select": "enter",
        "cursor_up": "up",
        "cursor_down": "down",
        "filter": "/",
        "toggle": "space",
        # the TUI's own: cycle the log's step filter, cancel the running step, theme
        "cycle_filter": "ctrl+f",
        "cancel_step": "ctrl+k",
        "toggle_theme": "ctrl+t",
    }
)
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
