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


ANSIBLE = '''
[[step]]
id = "play"
title = "play"
phase = "rollback"
kind = "ansible"
hosts = "web"
'''


def test_ansible_steps_are_validated() -> None:
    n = BASE.count("\n")
    found = lines(BASE + ANSIBLE)
    assert len(found) == 1 and found[0].startswith(f"p.toml:{n + 2}: step \"play\": "), found
    assert found[0].endswith("ansible steps need a [step.ansible] table"), found
    both = BASE + ANSIBLE + '[step.ansible]\nplaybook = "nope.yml"\nmodule = "shell"\n'
    found = lines(both)
    assert any("needs exactly one of playbook and module" in line for line in found), found
    assert any("playbook nope.yml not found next to the profile" in line for line in found), found
    ok = BASE + ANSIBLE + '[step.ansible]\nmodule = "shell"\nargs = "{artisan} down"\n'
    assert lines(ok) == []
    no_hosts = BASE + ANSIBLE.replace('hosts = "web"\n', "") + '[step.ansible]\nmodule = "ping"\n'
    assert any('an ansible step needs "hosts"' in line for line in lines(no_hosts)), lines(no_hosts)


NO_PTY = '''
[[step]]
id = "fan"
title = "fan out"
phase = "rollback"
hosts = "web"
command = "true"
pty = {value}
'''


def test_a_step_runs_on_a_terminal_unless_it_says_pty_false() -> None:
    profile, problems = parse_profile((BASE + NO_PTY.format(value="false")).encode(), "/p/p.toml")
    assert profile is not None and not problems, problems
    assert profile.step("fan").pty is False
    assert all(s.pty for s in profile.steps if s.id != "fan")
    n = BASE.count("\n")
    assert lines(BASE + NO_PTY.format(value='"no"')) == [
        f'p.toml:{n + 8}: step "fan": pty: expected a boolean, got "no"']
