"""The app's own keys (rebindable via ``[cockpit] keys``) and the step keys from the profile.

Every key comes from the one table `cockpit.profile.keys.APP_ACTIONS` (the loader refuses a
step key that collides with one of them), so the TUI and the loader never disagree. Each
action is a binding whose id is the action's name, so ``[cockpit] keys`` rebinds it through
Textual's keymap wherever it lives: on the app (below), on the checklist (``select``,
``cursor_up``/``down``, ``toggle``), on the dialogs (``cancel``).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from cockpit.profile.keys import APP_ACTIONS, app_keys, normalize_key
from cockpit.profile.model import Profile

# actions bound on the app itself, and whether the footer shows them (when they can act)
APP_LEVEL: dict[str, bool] = {
    "start_rollback": True,
    "cancel_step": True,
    "stop_after_batch": True,
    "hosts": False,
    "cycle_filter": True,
    "filter": False,
    "help": True,
    "toggle_theme": False,
    "quit": True,
    "force_quit": False,
    "command_palette": False,
    "focus_next": False,
}
# the app-level action each id runs (the rest are the id itself)
_RUNS = {"focus_next": "app.focus_next"}
# bound elsewhere: the checklist widget and the dialogs (the same ids)
ELSEWHERE = ("select", "cursor_up", "cursor_down", "toggle", "cancel")


def label(action: str) -> str:
    return APP_ACTIONS[action][1]


def app_bindings() -> list[BindingType]:
    """The app's bindings with their default keys; ``keymap`` applies ``[cockpit] keys``."""
    keys = app_keys()
    return [
        Binding(normalize_key(keys[action]), _RUNS.get(action, action), label(action), show=show, id=action,
                priority=action in ("force_quit", "command_palette"))
        for action, show in APP_LEVEL.items()
    ]


def keymap(profile: Profile) -> dict[str, str]:
    """``[cockpit] keys`` as a Textual keymap (binding id -> key), for every app action."""
    return {a: normalize_key(k) for a, k in profile.cockpit.keys.items() if a in APP_ACTIONS}


def app_key(profile: Profile, action: str) -> str:
    """The key bound to one of the app's actions (after rebinding), in Textual's spelling."""
    return normalize_key(app_keys(profile.cockpit.keys)[action])


def display(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "ctrl+backslash": "ctrl+\\"}.get(key, key)


def step_bindings(profile: Profile) -> list[tuple[str, str, str]]:
    """(key, action, label) for every step with a key."""
    return [
        (normalize_key(step.key), f"fire({step.id!r})", _short(step.id)) for step in profile.steps if step.key
    ]


def _short(title: str, width: int = 12) -> str:
    return title if len(title) <= width else title[: width - 1] + "…"
