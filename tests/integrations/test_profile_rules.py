"""#15: the profile format of silences, alertmanager sources, `[grafana]` and annotate steps:
the Academy profile uses them, and mistakes are refused with `file:line: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.alertmanager import parse_matcher
from cockpit.kinds import table_of
from cockpit.profile.load import validate
from cockpit.profile.model import SilenceSpec
from tests.conftest import REPO
from tests.engine.conftest import profile_text


def test_the_academy_profile_silences_what_the_runbook_triggers_and_annotates_the_rollback() -> None:
    profile, problems = validate(REPO / "profiles" / "academy.toml", environ={})
    assert profile is not None, problems
    step = profile.step("silence-pager")
    spec = table_of(step, "silence", SilenceSpec)
    assert step.kind == "silence" and spec is not None and not spec.required
    matchers = [parse_matcher(m) for m in spec.matchers]
    names = next(m for m in matchers if m.name == "alertname")
    import re

    for alert in ("HorizonPaused", "HorizonQueueGrowing", "OctaneDown"):   # runbook: pause, queues grow, Octane off
        assert re.fullmatch(names.value, alert), alert
    assert profile.sources[spec.source].kind == "alertmanager"
    order = [s.id for s in profile.steps]
    assert order.index("silence-pager") < order.index("horizon-pause") < order.index("octane-stop")
    assert profile.grafana.annotate_rollback and profile.grafana.token == "${env:GRAFANA_TOKEN}"
    assert profile.signal("alerts").view == "alerts"


AM_SOURCE = '[sources.am]\nkind = "alertmanager"\nurl = "http://127.0.0.1:9093"\n'


def silence_step(source: str = "am", matcher: str = 'alertname="X"', more: str = "") -> str:
    """A silence step as a profile's TOML, with the Alertmanager source ``am`` declared before it."""
    return (f"{AM_SOURCE}\n[[step]]\nid = \"s\"\ntitle = \"S\"\nphase = \"rollback\"\nkind = \"silence\"\n"
            f"[step.silence]\nsource = \"{source}\"\nmatchers = ['{matcher}']\n{more}")


BAD = [
    (silence_step(source="nope"), 'unknown alertmanager source "nope"'),
    (silence_step(matcher="alertname=X"), "is not a matcher"),
    (silence_step(matcher='alertname=~"(unclosed"'), "bad regular expression"),
    (silence_step(more='duration = "5m"\nmargin = "10m"\n'), "margin must be shorter than duration"),
    ("""
[[step]]
id = "a"
title = "A"
phase = "rollback"
kind = "annotate"
[step.annotate]
text = "x"
""", "need [grafana] url and token"),
    ("""
[grafana]
url = "http://127.0.0.1:3000"
token = "${env:GRAFANA_TOKEN}"
annotate_steps = ["nope"]
""", 'unknown step "nope"'),
    ('[sources.am]\nkind = "alertmanager"\n', 'an alertmanager source needs "url"'),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_mistakes_are_refused_with_the_line(tmp_path: Path, extra: str, message: str) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    steps = extra if "[[step]]" in extra else ""
    tables = "" if steps else extra
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=None, marker_dir=marks, steps=steps, extra=tables))
    profile, problems = validate(path, environ={"GRAFANA_TOKEN": "x" * 8})
    texts = [p.message for p in problems]
    assert profile is None and any(message in t for t in texts), texts
    found = next(p for p in problems if message in p.message)
    assert found.line > 0 and found.format(str(path)).startswith(f"{path}:{found.line}: ")
