"""The app's own keys (rebindable via ``[cockpit] keys``) and the step keys from the profile.

Default keys come from `cockpit.profile.keys.APP_KEYS` (the loader refuses a step
key that collides with one of them), so the TUI and the loader never disagree.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from cockpit.profile.keys import app_keys, normalize_key
from cockpit.profile.model import Profile

# action -> (footer label, shown in footer); keys come from cockpit.profile.keys
ACTIONS: dict[str, tuple[str, bool]] = {
    "start_rollback": ("Start rollback", True),
    "cancel_step": ("Cancel step", False),
    "cycle_filter": ("Log filter", True),
    "filter": ("Filter…", False),
    "help": ("Help", True),
    "toggle_theme": ("Theme", False),
    "quit": ("Quit", True),
    "force_quit": ("Quit", False),
}


def app_bindings() -> list[BindingType]:
    """The app's bindings with their default keys; ``keymap`` applies ``[cockpit] keys``."""
    keys = app_keys()
    return [
        Binding(normalize_key(keys[action]), action, label, show=show, id=action,
                priority=action == "force_quit")
        for action, (label, show) in ACTIONS.items()
    ]


def keymap(profile: Profile) -> dict[str, str]:
    """``[cockpit] keys`` as a Textual keymap (binding id -> key)."""
    return {a: normalize_key(k) for a, k in profile.cockpit.keys.items() if a in ACTIONS}


def app_key(profile: Profile, action: str) -> str:
    """The key bound to one of the app's actions (after rebinding), in Textual's spelling."""
    return normalize_key(app_keys(profile.cockpit.keys)[action])


def display(key: str) -> str:
    return {"question_mark": "?", "slash": "/"}.get(key, key)


def step_bindings(profile: Profile) -> list[tuple[str, str, str]]:
    """(key, action, label) for every step with a key."""
    return [
        (normalize_key(step.key), f"fire({step.id!r})", _short(step.id)) for step in profile.steps if step.key
    ]


def _short(title: str, width: int = 12) -> str:
    return title if len(title) <= width else title[: width - 1] + "…"
