"""Durations, conditions and ``{var}`` expansion: edge cases, as the loader sees them."""

from __future__ import annotations

import pytest

from cockpit.conditions import ConditionError, parse_condition
from cockpit.durations import DurationError, parse_duration
from cockpit.profile.load import parse_profile
from cockpit.profile.vars import UndefinedVar, expand_vars
from tests.profile.cases import BASE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("5s", 5.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("1.5m", 90.0),
        (" 15m ", 900.0),
        ("15M", 900.0),
        ("1m30s", 90.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("5", "use a number and a unit"),
        ("", "empty"),
        ("0s", "greater than zero"),
        ("5 min", "bad duration"),
        ("-5s", "bad duration"),
        ("5x", "bad duration"),
        ("s", "bad duration"),
        (300, "expected a duration string"),
    ],
)
def test_bad_durations(text: object, needle: str) -> None:
    with pytest.raises(DurationError, match=needle):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "op", "threshold"),
    [
        ("< 100", "<", 100.0),
        ("<=0.001", "<=", 0.001),
        ("== 200", "==", 200.0),
        ("!= 0", "!=", 0.0),
        (">= -1.5", ">=", -1.5),
        ("> 1e3", ">", 1000.0),
        ("  < .5 ", "<", 0.5),
    ],
)
def test_conditions(text: str, op: str, threshold: float) -> None:
    c = parse_condition(text)
    assert (c.op, c.threshold) == (op, threshold)


@pytest.mark.parametrize("text", ["100", "=< 3", "< ", "less than 100", "<< 1", "= 200", "< 1 2"])
def test_bad_conditions(text: str) -> None:
    with pytest.raises(ConditionError, match="bad condition"):
        parse_condition(text)


def test_condition_nan_never_holds() -> None:
    assert not parse_condition("!= 0").holds(float("nan"))


def test_loaded_durations_and_conditions_are_typed() -> None:
    text = BASE.replace('environment = "drill"', 'environment = "drill"\nrto = "1h30m"\nrefresh = "500ms"')
    profile, problems = parse_profile(text.encode(), "/x/p.toml", environ={})
    assert problems == [] and profile is not None
    assert profile.cockpit.rto == 5400.0 and profile.cockpit.refresh == 0.5
    assert str(profile.checks[0].condition) == "< 100"
    assert profile.checks[0].id == "queues"  # defaults to the signal id


def test_vars_expand_recursively_and_keep_literal_braces() -> None:
    values = {"app": "/srv/app", "artisan": "cd {app} && php artisan"}
    assert expand_vars("{artisan} x {{literal}}", values) == "cd /srv/app && php artisan x {literal}"
    with pytest.raises(UndefinedVar):
        expand_vars("{nope}", values)


def test_profile_expand_uses_vars_that_use_vars() -> None:
    text = BASE.replace('artisan = "php artisan"', 'app = "/srv/a"\nartisan = "cd {app} && php artisan"')
    profile, problems = parse_profile(text.encode(), "/x/p.toml", environ={})
    assert problems == [] and profile is not None
    assert profile.expand(profile.steps[0].command or "") == "cd /srv/a && php artisan horizon:pause"


def test_shell_braces_need_doubling_and_are_then_accepted() -> None:
    ok = BASE.replace("{artisan} horizon:pause", "echo ${{HOME}} | awk '{print $1}'")
    profile, problems = parse_profile(ok.encode(), "/x/p.toml", environ={})
    assert problems == [] and profile is not None
    assert profile.expand(profile.steps[0].command or "") == "echo ${HOME} | awk '{print $1}'"
    bad = BASE.replace("{artisan} horizon:pause", "echo ${HOME}")
    _, problems = parse_profile(bad.encode(), "/x/p.toml", environ={})
    assert [p.format("p.toml") for p in problems] == [
        'p.toml:32: step "pause": command: undefined var "{HOME}" (define it in [vars], or write {{ }} for literal braces)'
    ]
