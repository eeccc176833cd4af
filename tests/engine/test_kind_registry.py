"""The kind registry (`cockpit.kinds`): a kind is one module plus one registration.

A step kind (``stamp``: writes a line into a file) and a source kind (``gauge``: reads
``name value`` lines from a file) exist only in this test. Registered by a fixture, they are
validated by the loader and `cockpit check`, documented by docgen, executed through the
controller (journalled) and sampled into a check, and shown in the TUI's checklist; unregistered
after, they are gone. No other module compares kind names (the guard at the end).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli import main as cli_main
from cockpit.controller import Controller
from cockpit.kinds import (
    HostDoneHandler,
    KeyPath,
    KindError,
    OutputHandler,
    RuleContext,
    SourceKind,
    StepKind,
    register_source_kind,
    register_step_kind,
    source_kind,
    source_kinds,
    step_kind,
    step_kinds,
    unregister_source_kind,
    unregister_step_kind,
)
from cockpit.profile import docgen
from cockpit.profile.convert import Converter, Reporter
from cockpit.profile.load import load_profile, parse_profile
from cockpit.profile.model import Profile, SignalSpec, SourceSpec, StepSpec, doc
from cockpit.profile.rules import Rules
from cockpit.results import OutputLine, StepResult
from cockpit.sources.base import Points, SourceError, Values, make_sampler, to_float
from cockpit.steps.base import finish
from cockpit.steps.context import StepContext

REPO = Path(__file__).resolve().parent.parent.parent


# -- the test-only step kind: `stamp` --------------------------------------------------------------
@dataclass(frozen=True)
class StampSpec:
    path: str = field(metadata=doc("The file the step appends its line to (relative to the profile).", path=True))
    text: str = field(default="stamped by {driver}", metadata=doc("The line; `{driver}` is the driver."))


def stamp_rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    spec = step_kind("stamp").spec_of(step)
    if spec is not None and not Path(spec.path).parent.is_dir():
        ctx.error((*path, "stamp", "path"), f"no directory {Path(spec.path).parent} for the stamp file")


async def stamp_execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                        hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    started = time.time()
    spec: StampSpec = step_kind("stamp").spec_of(step)
    line = spec.text.replace("{driver}", ctx.facts.driver)
    with open(spec.path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    if on_output is not None:
        on_output(OutputLine(step.id, "stamp", "stdout", line, time.time()))
    return finish(step.id, "ok", started, command=None, scrub=ctx.redact, detail={"stamped": spec.path})


def stamp_preview(step: StepSpec, ctx: StepContext) -> str:
    spec: StampSpec = step_kind("stamp").spec_of(step)
    return f"appends {spec.text!r} to {spec.path}"


STAMP = StepKind(name="stamp", doc="Appends a line to a file (a kind that exists only in the tests).",
                 runs_on="none", where="no host: this cockpit writes the stamp file", execute=stamp_execute,
                 preview=stamp_preview, previews=True, table=StampSpec, rules=stamp_rules)


# -- the test-only source kind: `gauge` ------------------------------------------------------------
@dataclass(frozen=True)
class GaugeSource:
    file: str = field(metadata=doc("A file of `name value` lines, relative to the profile.", path=True))


@dataclass(frozen=True)
class GaugeSignal:
    name: str = field(metadata=doc("The line's name whose value is the signal's."))


class GaugeSampler:
    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    async def sample(self, signal: SignalSpec) -> Values:
        table: GaugeSource = source_kind("gauge").spec_of(self.spec)
        wanted: GaugeSignal = source_kind("gauge").signal_spec_of(signal)
        for line in Path(table.file).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == wanted.name:
                return {"": to_float(value)}
        raise SourceError(f"no line {wanted.name!r} in {table.file}")

    async def backfill(self, signal: SignalSpec, now: float) -> Points:
        return {}

    async def close(self) -> None:
        return None


def gauge_sampler(spec: SourceSpec, profile: Profile, command_sampler: Any) -> GaugeSampler:
    return GaugeSampler(spec)


def gauge_signal_rules(ctx: RuleContext, sig: SignalSpec, src: SourceSpec, path: KeyPath) -> None:
    if source_kind("gauge").signal_spec_of(sig) is None:
        ctx.error(path, f'a signal on gauge source "{sig.source}" needs a [signal.gauge] table')


GAUGE = SourceKind(name="gauge", doc="Reads `name value` lines from a file (a kind that exists only in the tests).",
                   sampler=gauge_sampler, table=GaugeSource, signal_table=GaugeSignal,
                   signal_rules=gauge_signal_rules)


@pytest.fixture
def test_kinds() -> Iterator[None]:
    register_step_kind(STAMP)
    register_source_kind(GAUGE)
    try:
        yield
    finally:
        unregister_step_kind("stamp")
        unregister_source_kind("gauge")


def profile_text(tmp_path: Path, *, stamp: str = 'path = "out/stamps.txt"', gauge: str = 'file = "gauge.txt"',
                 signal_gauge: str = 'name = "queue"', extra_signal: str = "") -> str:
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "gauge.txt").write_text("queue 3\nlag 9\n")
    return f"""
[cockpit]
name = "kinds-test"
environment = "drill"
refresh = "1s"

[sources.g]
kind = "gauge"
[sources.g.gauge]
{gauge}

[[signal]]
id = "queue"
source = "g"
title = "Queue"
{extra_signal}
[signal.gauge]
{signal_gauge}

[[check]]
signal = "queue"
title = "Queue below 5"
condition = "< 5"

[[step]]
id = "stamp-it"
title = "Stamp the file"
phase = "rollback"
kind = "stamp"
key = "k"
confirm = "yes"
[step.stamp]
{stamp}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`cockpit check` in this process (so the kinds this test registered exist)."""
    try:
        rc = cli_main(["check", "--profile", str(path)])
    except SystemExit as e:
        rc = int(e.code or 0)
    out = capsys.readouterr()
    return rc, out.out + out.err


# -- validated ------------------------------------------------------------------------------------
def test_a_registered_kind_is_loaded_and_checked(test_kinds: None, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, profile_text(tmp_path))
    rc, out = check(path, capsys)
    assert rc == 0, out
    assert "profile.toml: ok" in out
    profile = load_profile(path)
    step = profile.step("stamp-it")
    spec = step_kind(step.kind).spec_of(step)
    assert isinstance(spec, StampSpec) and spec.path == str(tmp_path / "out" / "stamps.txt")
    assert isinstance(source_kind("gauge").spec_of(profile.sources["g"]), GaugeSource)
    assert source_kind("gauge").signal_spec_of(profile.signal("queue")) == GaugeSignal(name="queue")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"stamp": 'path = "nowhere/stamps.txt"'}, 'step "stamp-it": stamp.path: no directory '),
    ({"stamp": 'text = "x"'}, 'step "stamp-it": stamp: missing required key "path" (string)'),
    ({"stamp": 'path = "out/s.txt"\ncolour = "red"'}, 'step "stamp-it": stamp: unknown key "colour"'),
    ({"gauge": 'file = 3'}, "sources.g.gauge.file: expected a string, got 3"),
    ({"signal_gauge": ""}, 'signal "queue": a signal on gauge source "g" needs a [signal.gauge] table'),
    ({"extra_signal": 'query = "up"'}, 'signal "queue": query: "query" is only for prometheus sources ("g" is gauge)'),
])
def test_a_registered_kind_s_bad_spec_is_reported(test_kinds: None, tmp_path: Path, changes: dict[str, str],
                                                  expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = profile_text(tmp_path, **changes)
    if changes.get("signal_gauge") == "":
        text = text.replace("[signal.gauge]\n", "")
    rc, out = check(write(tmp_path, text), capsys)
    assert rc == 2, out
    assert expected in out, out
    assert "Traceback" not in out


def test_a_table_of_another_kind_is_refused(test_kinds: None, tmp_path: Path) -> None:
    text = profile_text(tmp_path) + '\n[[step]]\nid = "hand"\ntitle = "By hand"\nphase = "rollback"\nkind = "manual"\n' \
        '[step.stamp]\npath = "out/x.txt"\n'
    _, problems = parse_profile(text.encode(), str(tmp_path / "p.toml"))
    assert 'step "hand": stamp: [step.stamp] is only for kind = "stamp" (this step is kind = "manual")' in [
        p.message for p in problems]


def test_a_source_table_of_another_kind_is_refused(test_kinds: None, tmp_path: Path) -> None:
    text = profile_text(tmp_path) + '\n[sources.p]\nkind = "prometheus"\nurl = "http://127.0.0.1:9"\n' \
        '[sources.p.gauge]\nfile = "gauge.txt"\n'
    _, problems = parse_profile(text.encode(), str(tmp_path / "p.toml"))
    assert "sources.p.gauge: [sources.p.gauge] is only for gauge sources (this one is prometheus)" in [
        p.message for p in problems]


def test_a_misspelt_kind_table_is_named(test_kinds: None, tmp_path: Path) -> None:
    text = profile_text(tmp_path).replace("[step.stamp]", "[step.stmp]")
    _, problems = parse_profile(text.encode(), str(tmp_path / "p.toml"))
    messages = [p.message for p in problems]
    assert 'step "stamp-it": unknown key "stmp" (did you mean "stamp"?)' in messages, messages


def test_a_kind_registered_in_a_fresh_process_comes_after_the_built_in_ones() -> None:
    """Registering first (before anything looked a kind up) still keeps the shipped order."""
    import subprocess
    import sys

    code = ("from tests.engine.test_kind_registry import STAMP\n"
            "from cockpit.kinds import register_step_kind, step_kinds\n"
            "register_step_kind(STAMP)\n"
            "print(','.join(k.name for k in step_kinds()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "ssh,local,slack,email,jira,manual,ansible,silence,annotate,stamp", out.stdout + out.stderr


def test_unregistered_the_kind_is_unknown_again(tmp_path: Path) -> None:
    _, problems = parse_profile(profile_text(tmp_path).encode(), str(tmp_path / "p.toml"))
    messages = [p.message for p in problems]
    assert 'sources.g.kind: "gauge" is not one of "prometheus", "http", "ssh", "alertmanager"' in messages
    assert any(m.startswith('step "stamp-it": kind: "stamp" is not one of "ssh", "local"') for m in messages)
    assert "stamp" not in [k.name for k in step_kinds()] and "gauge" not in [k.name for k in source_kinds()]


# -- documented -----------------------------------------------------------------------------------
def test_a_registered_kind_is_documented(test_kinds: None) -> None:
    text = docgen.generate()
    assert "| `stamp` | no host: this cockpit writes the stamp file | `[step.stamp]` | yes | - | " \
           "Appends a line to a file (a kind that exists only in the tests). |" in text
    assert "| `gauge` | this cockpit | - | Reads `name value` lines from a file" in text
    section = text.split("### `[step.stamp]`", 1)[1].split("###", 1)[0]
    assert "| `path` | string (a path: relative to the profile's directory) | **required** |" in section
    assert "| `text` | string | `\"stamped by {driver}\"` |" in section
    assert "### `[sources.NAME.gauge]`" in text and "### `[signal.gauge]`" in text
    step_table = text.split("### `[[step]]`", 1)[1]
    kind_row = next(line for line in step_table.splitlines() if line.startswith("| `kind` |"))
    assert '"annotate", "stamp"' in kind_row, kind_row


def test_the_docs_list_exactly_the_registered_kinds() -> None:
    text = docgen.generate()
    assert "`stamp`" not in text
    for kind in step_kinds():
        assert f"| `{kind.name}` |" in text
    for src in source_kinds():
        assert f"| `{src.name}` |" in text


# -- executed and sampled -------------------------------------------------------------------------
async def test_a_registered_kind_runs_through_the_controller_and_is_journalled(test_kinds: None,
                                                                               tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, profile_text(tmp_path)))
    c = Controller(profile)
    shown: list[str] = []
    c.on_output(lambda line: shown.append(line.text))
    await c.start(connect=False, poll=False)
    try:
        assert "appends 'stamped by {driver}' to " in await c.preview("stamp-it")
        result = await c.fire("stamp-it", yes=True)
        assert result.ok, result.reason
        await c.sample_now()
        states = {s.check_id: s for s in c.check_states()}
        view = c.signal_view("queue", time.time())
        driver = c.driver
    finally:
        await c.stop()
    assert (tmp_path / "out" / "stamps.txt").read_text() == f"stamped by {driver}\n"
    assert shown == [f"stamped by {driver}"]
    entries = [json.loads(line) for line in c.journal.path.read_text().splitlines()]
    start = next(e for e in entries if e["type"] == "step_start" and e["step"] == "stamp-it")
    end = next(e for e in entries if e["type"] == "step_end" and e["step"] == "stamp-it")
    assert start["kind"] == "stamp" and start["hosts"] == []
    assert end["state"] == "ok"
    assert view.latest() == {"": 3.0}
    assert states["queue"].status == "ok", states["queue"].reason
    transitions = [e for e in entries if e["type"] == "check_transition" and e.get("check") == "queue"]
    assert transitions and transitions[-1]["to"] == "ok"


def test_where_it_runs_and_the_prompt_come_from_the_record(test_kinds: None, tmp_path: Path) -> None:
    from cockpit.targets import where_it_runs
    from cockpit.tui import present

    profile = load_profile(write(tmp_path, profile_text(tmp_path)))
    step = profile.step("stamp-it")
    assert where_it_runs(profile, step) == "no host: this cockpit writes the stamp file"
    prompt = present.step_prompt(profile, step)
    assert prompt.has_preview and prompt.hosts == () and prompt.command is None
    row = present.step_row(profile, step, None)
    assert (row.kind, row.state, row.ticked, row.hosts_total) == ("stamp", "idle", False, 0)


async def test_a_registered_kind_is_in_the_checklist_and_fires_from_its_key(test_kinds: None, tmp_path: Path) -> None:
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.screens import ConfirmStepScreen
    from tests.tui.conftest import until
    from tests.tui.screen_text import checklist_text, screen_text

    profile = load_profile(write(tmp_path, profile_text(tmp_path)))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        assert "Stamp the file" in checklist_text(app)
        await pilot.press("k")
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="confirmation modal")
        assert "no host: this cockpit writes the stamp file" in screen_text(app)
        await until(lambda: "appends 'stamped by" in screen_text(app), what="the kind's preview")
        await pilot.press("enter")
        await until(lambda: re.search(r"✔ Stamp the file  ok", checklist_text(app)), what="step ok")
        await until(lambda: "Queue below 5" in checklist_text(app) and "3" in checklist_text(app),
                    what="the gauge's check")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    assert (tmp_path / "out" / "stamps.txt").read_text().startswith("stamped by ")


# -- unknown kinds: a clear error, never another kind's rules ------------------------------------
def test_an_unknown_source_kind_is_named_not_judged_as_ssh() -> None:
    """The rules get a source whose kind no record describes (a kind added to the model but not
    registered): they say so and name the known kinds. They used to apply the ssh rules to it."""
    rep = Reporter({}, {})
    conv = Converter(rep)
    src = SourceSpec(id="am", kind="nagios", url="http://127.0.0.1:9093")
    conv.origins[id(src)] = ("sources", "am")
    rules = Rules({"sources": {"am": {}}}, {"sources": {"am": src}}, conv)
    rules.sources()
    messages = [p.message for p in rep.problems]
    assert messages == ['sources.am.kind: unknown source kind "nagios" (known: "prometheus", "http", "ssh", '
                        '"alertmanager")'], \
        messages


def test_an_unknown_kind_is_a_clear_error_everywhere(tmp_path: Path) -> None:
    with pytest.raises(KindError, match=r'unknown source kind "nosuch" \(known: "prometheus", "http", "ssh", '
                                        r'"alertmanager"\)'):
        make_sampler(SourceSpec(id="x", kind="nosuch"), load_profile(write(tmp_path, profile_text(tmp_path)
                                                                             .split("[sources.g]")[0])))
    with pytest.raises(KindError, match=r'unknown step kind "nosuch" \(known: "ssh", "local", '):
        step_kind("nosuch")


def test_a_kind_registered_twice_is_refused(test_kinds: None) -> None:
    with pytest.raises(KindError, match="step kind 'stamp' is registered twice"):
        register_step_kind(STAMP)


# -- the guard: the kind lists cannot come back ---------------------------------------------------
def _kind_comparisons(text: str, names: list[str]) -> list[str]:
    quoted = "|".join(re.escape(n) for n in names)
    patterns = [
        # step.kind == "ssh", src.kind != "prometheus", step.kind in (...), spec.kind not in {...}
        r"\b(step|src|source|spec|sig|signal|s)\.kind\s*(==|!=|\bin\b|\bnot\s+in\b)",
        # "ssh" == kind, kind == "local", kind in ("ssh", "ansible")
        rf"\bkind\w*\s*(==|!=)\s*[\"']({quoted})[\"']",
        rf"[\"']({quoted})[\"']\s*(==|!=)\s*\w*kind\b",
        rf"\bkind\w*\s+(not\s+)?in\s*[\(\[\{{][^\)\]\}}]*[\"']({quoted})[\"']",
        # dispatch tables keyed by a kind: {...}.get(step.kind), urls[src.kind]
        r"\.get\(\s*\w+\.kind\s*[,\)]",
        r"\[\s*\w+\.kind\s*\]",
    ]
    return [line for line in text.splitlines() if any(re.search(p, line) for p in patterns)]


def test_no_module_outside_the_registry_compares_kind_names() -> None:
    names = [k.name for k in step_kinds()] + [k.name for k in source_kinds()]
    offenders = []
    for root in ("cockpit", "widgets"):
        for path in sorted((REPO / root).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith("cockpit/kinds/"):
                continue
            offenders += [f"{rel}: {line.strip()}" for line in _kind_comparisons(path.read_text(), names)]
    assert offenders == [], "kind names compared outside cockpit/kinds (read the kind's record instead):\n" + \
        "\n".join(offenders)


@pytest.mark.parametrize("line", [
    'if step.kind == "ssh":',
    '    if src.kind != "prometheus":',
    'if step.kind not in ("ssh", "ansible"):',
    '    if kind in ("prometheus", "http"):',
    'if kind == "local":',
    'return {"slack": step.slack}.get(step.kind)',
    'url=urls[src.kind]',
])
def test_the_guard_sees_the_old_patterns(line: str) -> None:
    assert _kind_comparisons(line, ["ssh", "local", "slack", "prometheus", "http", "ansible"]) == [line]


def test_the_guard_lets_other_kinds_of_kind_be() -> None:
    text = 'if kind == "step_end":\nif message.kind == "step":\nif kind == "runner_on_ok":\nreturn kind in KINDS'
    assert _kind_comparisons(text, ["ssh", "local", "slack", "prometheus", "http"]) == []


def test_the_shipped_kinds_are_registered_in_order() -> None:
    assert [k.name for k in step_kinds()] == ["ssh", "local", "slack", "email", "jira", "manual", "ansible",
                                              "silence", "annotate"]
    assert [k.name for k in source_kinds()] == ["prometheus", "http", "ssh", "alertmanager"]
    assert [k.name for k in step_kinds() if k.runs_on == "hosts"] == ["ssh", "ansible"]


def test_sources_base_is_a_leaf() -> None:
    """`cockpit.sources.base` imports no sampler: building one goes through the registry."""
    import subprocess
    import sys

    code = ("import sys, cockpit.sources.base\n"
            "print(sorted(m for m in sys.modules if m.startswith('cockpit.sources.') and m != 'cockpit.sources.base'"
            " or m.startswith('cockpit.kinds')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout
    text = (REPO / "cockpit/sources/base.py").read_text()
    assert not re.search(r"^\s*from cockpit\.sources\.(prometheus|http|ssh)\b", text, re.M)

