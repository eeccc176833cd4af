"""The dispatcher: manual ticks, kinds it does not run, templating rules, bad input never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.profile.model import EmailSpec, SlackSpec, StepSpec
from cockpit.steps import execute, preview
from cockpit.steps.base import StepFailure
from cockpit.steps.templating import render
from tests.steps.conftest import make_ctx


async def test_manual_tick_records_the_note(tmp_path: Path) -> None:
    step = StepSpec(id="cab", title="CAB sign-off by phone", phase="communicate", kind="manual",
                    note="Call the CAB chair")
    result = await execute(step, make_ctx(tmp_path, step, note="approved by J. Doe at 10:42"))
    assert result.ok
    assert result.detail == {"note": "approved by J. Doe at 10:42", "driver": "alice"}
    assert await preview(step, make_ctx(tmp_path, step)) == (
        "Manual step: CAB sign-off by phone. Tick it when it is done\nCall the CAB chair"
    )


async def test_ssh_kind_is_not_ours(tmp_path: Path) -> None:
    step = StepSpec(id="pause", title="Pause", phase="rollback", kind="ssh", command="true")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == "step pause: kind 'ssh' is not run by cockpit.steps"
    assert (await preview(step, make_ctx(tmp_path, step))).startswith("cannot preview: ")


async def test_kind_without_its_table(tmp_path: Path) -> None:
    step = StepSpec(id="announce", title="Announce", phase="communicate", kind="slack")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == "step announce is kind slack but has no [step.slack] table"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{driver.__class__}", "placeholder {driver.__class__} is not a plain name"),
        ("{steps_done[0]}", "placeholder {steps_done[0]} is not a plain name"),
        ("{driver!r}", "may not have a format spec or conversion"),
        ("{driver:>20}", "may not have a format spec or conversion"),
        ("oops {", "bad template"),
        ("{a} {b} {a}", "unknown placeholder {a}, {b}; known placeholders: {driver}"),
    ],
)
def test_templates_are_strict(template: str, message: str) -> None:
    with pytest.raises(StepFailure) as info:
        render(template, {"driver": "alice"}, where="t")
    assert message in info.value.reason


def test_literal_braces() -> None:
    assert render("{{json}} by {driver}", {"driver": "alice"}, where="t") == "{json} by alice"


async def test_bad_dashboard_template_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", "http://127.0.0.1:9/x")
    step = StepSpec(id="announce", title="Announce", phase="communicate", kind="slack",
                    slack=SlackSpec(webhook="${env:HOOK}", text="hi",
                                    dashboards={"Grafana": "https://g/d?from={start}"}))
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert (result.reason or "").startswith("step announce: dashboard 'Grafana': unknown placeholder {start}")


@pytest.fixture
def silent_smtp() -> Iterator[int]:
    """A TCP listener that accepts connections and never says anything (a hung mail relay)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


async def test_smtp_server_that_never_greets_times_out(tmp_path: Path, silent_smtp: int) -> None:
    (tmp_path / "t.md").write_text("hello {driver}\n")
    step = StepSpec(id="mail", title="Mail", phase="communicate", kind="email", timeout=0.5,
                    email=EmailSpec(template="t.md", to=("a@example.com",), sender="b@example.com",
                                    smtp_host="127.0.0.1", smtp_port=silent_smtp, starttls=False))
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == f"SMTP 127.0.0.1:{silent_smtp}: no answer within 0.5s"


def test_incident_window_defaults() -> None:
    from dataclasses import replace

    from cockpit.steps.templating import incident_window, placeholders
    from tests.steps.conftest import FACTS

    running = replace(FACTS, rollback_ended=None)
    assert incident_window(running, now=1_700_000_100.0) == (1_700_000_000.0, 1_700_000_100.0)
    idle = replace(FACTS, rollback_started=None, rollback_ended=None)
    assert incident_window(idle, now=1_700_000_900.0) == (1_700_000_000.0, 1_700_000_900.0)
    values = placeholders(FACTS)
    assert (values["from"], values["to"]) == ("1700000000000", "1700000600000")
    assert (values["from_iso"], values["to_iso"]) == ("2023-11-14T22:13:20Z", "2023-11-14T22:23:20Z")
    assert (values["from_s"], values["to_s"]) == ("1700000000", "1700000600")
