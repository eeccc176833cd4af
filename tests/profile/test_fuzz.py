"""Mangled profiles never crash the loader: every outcome is a profile or `file:LINE` problems."""

from __future__ import annotations

import random

from cockpit.profile.load import parse_profile
from tests.conftest import REPO

ACADEMY = (REPO / "profiles" / "academy.toml").read_text()
JUNK = ['"x"', "1", "-3", "true", "[]", "{}", '["a", 2]', "{ a = 1 }", '"0s"', '"< x"', "1979-05-27", "nan"]


def _mangle(rng: random.Random, lines: list[str]) -> str:
    out = list(lines)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(out))
        action = rng.choice(["drop", "value", "key", "dup", "swap"])
        line = out[i]
        if action == "drop":
            del out[i]
        elif action == "value" and " = " in line:
            out[i] = line.split(" = ", 1)[0] + " = " + rng.choice(JUNK)
        elif action == "key" and " = " in line:
            key, value = line.split(" = ", 1)
            out[i] = key[:-1] + " = " + value if len(key) > 1 else line
        elif action == "dup":
            out.insert(i, line)
        elif action == "swap":
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
    return "\n".join(out) + "\n"


def test_mangled_academy_profiles_give_problems_not_tracebacks() -> None:
    rng = random.Random(20261128)
    lines = ACADEMY.splitlines()
    n_lines = len(lines) + 10
    failures = 0
    for _ in range(150):
        text = _mangle(rng, lines)
        profile, problems = parse_profile(text.encode(), "/x/academy.toml", environ={})
        errors = [p for p in problems if p.severity == "error"]
        assert (profile is None) == bool(errors)
        for p in problems:
            assert 1 <= p.line <= n_lines and p.message
        failures += bool(errors)
    assert failures > 50  # the mangling really breaks things
