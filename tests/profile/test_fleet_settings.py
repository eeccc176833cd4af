"""``[ssh]`` settings for fleets: the handshake cap is validated like any other key."""

from __future__ import annotations

from cockpit.profile.load import parse_profile
from tests.profile.cases import BASE


def lines(text: str) -> list[str]:
    _, problems = parse_profile(text.encode(), "/p/p.toml")
    return [p.format("p.toml") for p in problems]


def test_handshakes_defaults_to_8_and_is_settable() -> None:
    profile, problems = parse_profile(BASE.encode(), "/p/p.toml")
    assert profile is not None and profile.ssh.handshakes == 8, problems
    profile, problems = parse_profile((BASE + "\n[ssh]\nhandshakes = 4\n").encode(), "/p/p.toml")
    assert profile is not None and profile.ssh.handshakes == 4, problems


def test_handshakes_below_one_is_an_error() -> None:
    n = BASE.count("\n")
    assert lines(BASE + "\n[ssh]\nhandshakes = 0\n") == [
        f"p.toml:{n + 3}: ssh.handshakes: handshakes must be 1 or more (handshakes in flight at once)"
    ]
