"""The kind registry: one record per step kind and per source kind.

Everything that differs between kinds lives in the kind's record, read by the
loader (which kinds exist, their ``[step.KIND]`` tables), the profile rules
(each kind's own checks), the docs generator, the controller and the steps
factory (how a step executes, where it runs), the sources (how a source is
sampled), the TUI (labels, preview flags) and the CLI. No other module compares
kind names: ``tests/engine/test_kind_registry.py`` enforces it.

Adding a kind is one new module ending with one ``register_step_kind(...)`` /
``register_source_kind(...)`` line, plus one import line in
`cockpit.kinds.builtin`. The records hold plain functions; a kind's heavy
implementation (httpx, prometheus-api-client) is imported inside them, so
loading the registry (every ``cockpit check``) stays cheap.

This module is a leaf: it imports nothing of the cockpit at run time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, SignalSpec, SourceSpec, StepSpec
    from cockpit.results import HostResult, OutputLine, StepResult
    from cockpit.sources.base import Sampler
    from cockpit.steps.context import StepContext

__all__ = [
    "HostDoneHandler", "KeyPath", "KindError", "OutputHandler", "RuleContext", "SourceKind", "StepKind", "names_of", "register_source_kind",
    "register_step_kind", "source_kind", "source_kinds", "step_kind", "step_kinds",
    "table_of", "unregister_source_kind", "unregister_step_kind",
]

KeyPath = tuple[str | int, ...]
RunsOn = Literal["hosts", "local", "none"]


class KindError(LookupError):
    """An unknown kind, or a kind registered twice. The message names the known kinds."""


class RuleContext(Protocol):
    """What a kind's validation rules may use (implemented by `cockpit.profile.rules.Rules`)."""

    base_dir: Path | None   # the profile's directory (None for bytes without a file)
    groups: list[str]       # host group names defined (also the inventory's)

    def error(self, path: KeyPath, message: str, at: KeyPath | None = None) -> None: ...
    def warning(self, path: KeyPath, message: str, at: KeyPath | None = None) -> None: ...
    def ref(self, path: KeyPath, what: str, name: str, known: list[str]) -> bool: ...
    def var_use(self, path: KeyPath, text: str | None) -> None: ...
    def raw_at(self, path: KeyPath) -> Mapping[str, Any]: ...
    def group(self, name: str) -> tuple[str, ...] | None: ...


OutputHandler = Callable[["OutputLine"], None]
HostDoneHandler = Callable[["HostResult"], None]
Execute = Callable[
    ["StepSpec", "StepContext", OutputHandler | None, Sequence[str] | None, HostDoneHandler | None],
    Awaitable["StepResult"],
]
Preview = Callable[["StepSpec", "StepContext"], str]
StepRules = Callable[[RuleContext, "StepSpec", KeyPath], None]
CommandLine = Callable[["StepSpec", "Profile", Sequence[str]], "str | None"]
MakeSampler = Callable[["SourceSpec", "Profile", Any], "Sampler"]
SourceRules = Callable[[RuleContext, "SourceSpec", KeyPath], None]
SignalRules = Callable[[RuleContext, "SignalSpec", "SourceSpec", KeyPath], None]


@dataclass(frozen=True)
class StepKind:
    """One step kind: everything the cockpit needs to know about it, in one place."""

    name: str                       # `kind = "NAME"` in the profile
    doc: str                        # one or two sentences for docs/profile.md
    runs_on: RunsOn                 # hosts: on the step's host group (needs `hosts`); local: this machine;
                                    # none: no host (the cockpit calls a service, or a person acts)
    where: str = ""                 # local/none: where it runs, in words ("no host: this cockpit posts to Slack")
    execute: Execute | None = None  # None: the step's command runs through `cockpit.runner` (ssh)
    preview: Preview | None = None  # what it will do, for the confirmation (None: the `preview` command only)
    previews: bool = False          # always has something to preview (without a `preview` key)
    table: type | None = None       # the dataclass of its `[step.NAME]` table (required when set)
    rules: StepRules | None = None  # its own validation rules, beyond the shared ones
    takes_command: bool = False     # `command` (required), `preview` and `verify` are its keys
    batchable: bool = False         # `batch`/`max_fail`/`gate`: rolled out in batches by the runner
    reports_checks: bool = False    # its message reports the checks: `cockpit run` samples them first
    ticked: bool = False            # a person's step: ticked with a note, never fired
    command_line: CommandLine | None = None  # the command journalled for it (default: its expanded `command`)
    article: str = ""               # "a"/"an" before its name in messages (default: by its first letter)

    def spec_of(self, step: StepSpec) -> Any:
        """The step's ``[step.NAME]`` table (None when the kind has none or it is missing)."""
        return table_of(step, self.name, self.table)

    @property
    def runner(self) -> bool:
        """Executed by `cockpit.runner` on remote hosts (the remote-command kind)."""
        return self.execute is None

    def a(self) -> str:
        """``an ssh``, ``a local``: the kind's name with its article, for messages."""
        article = self.article or ("an" if self.name[:1] in "aeiou" else "a")
        return f"{article} {self.name}"


@dataclass(frozen=True)
class SourceKind:
    """One source kind: how it is validated, documented and sampled."""

    name: str                          # `kind = "NAME"` in `[sources.ID]`
    doc: str                           # one or two sentences for docs/profile.md
    sampler: MakeSampler               # (spec, profile, command_sampler or None) -> Sampler
    runs_on: Literal["hosts", "none"] = "none"   # hosts: its commands run on the first host of `hosts`
    url: bool = False                  # reads `url` (required, http(s)) and `max_bytes`
    signal_needs: tuple[tuple[str, str], ...] = ()  # (signal key, hint): keys its signals must set
    signal_keys: tuple[str, ...] = ()  # kind-specific signal keys it reads (`query`, `command`, `field`)
    sample_age: bool = False           # its samples carry their age (`max_age` applies; prometheus)
    rules: SourceRules | None = None   # its own rules for `[sources.ID]`
    signal_rules: SignalRules | None = None   # its own rules for a signal on such a source
    table: type | None = None          # the dataclass of a `[sources.ID.NAME]` table (optional)
    signal_table: type | None = None   # the dataclass of a signal's `[signal.NAME]` table (optional)
    article: str = ""

    def a(self) -> str:
        article = self.article or ("an" if self.name[:1] in "aeiou" else "a")
        return f"{article} {self.name}"

    def spec_of(self, source: SourceSpec) -> Any:
        """The source's ``[sources.ID.NAME]`` table (None when absent)."""
        return table_of(source, self.name, self.table)

    def signal_spec_of(self, signal: SignalSpec) -> Any:
        """A signal's ``[signal.NAME]`` table (None when absent)."""
        return table_of(signal, self.name, self.signal_table)


_STEPS: dict[str, StepKind] = {}
_SOURCES: dict[str, SourceKind] = {}


def _load() -> None:
    """Import the built-in kinds (once: lazily, as the kind modules import the model)."""
    import cockpit.kinds.builtin  # noqa: F401  (each module registers itself)


def register_step_kind(kind: StepKind) -> StepKind:
    """Add a step kind (after the built-in ones); a second kind of the same name is a programming error."""
    _load()   # during the built-in import this is a no-op (the module is already in sys.modules)
    if kind.name in _STEPS:
        raise KindError(f"step kind {kind.name!r} is registered twice")
    _STEPS[kind.name] = kind
    return kind


def register_source_kind(kind: SourceKind) -> SourceKind:
    """Add a source kind (after the built-in ones); a second kind of the same name is a programming error."""
    _load()
    if kind.name in _SOURCES:
        raise KindError(f"source kind {kind.name!r} is registered twice")
    _SOURCES[kind.name] = kind
    return kind


def unregister_step_kind(name: str) -> None:
    """Remove a step kind (tests registering a kind of their own)."""
    _STEPS.pop(name, None)


def unregister_source_kind(name: str) -> None:
    """Remove a source kind (tests registering a kind of their own)."""
    _SOURCES.pop(name, None)


def step_kinds() -> tuple[StepKind, ...]:
    """Every step kind, in registration order (the built-in ones first)."""
    _load()
    return tuple(_STEPS.values())


def source_kinds() -> tuple[SourceKind, ...]:
    """Every source kind, in registration order (the built-in ones first)."""
    _load()
    return tuple(_SOURCES.values())


def _known(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def step_kind(name: str) -> StepKind:
    """The record of step kind ``name``; `KindError` naming the known kinds when there is none."""
    _load()
    try:
        return _STEPS[name]
    except KeyError:
        raise KindError(f'unknown step kind "{name}" (known: {_known(list(_STEPS))})') from None


def source_kind(name: str) -> SourceKind:
    """The record of source kind ``name``; `KindError` naming the known kinds when there is none."""
    _load()
    try:
        return _SOURCES[name]
    except KeyError:
        raise KindError(f'unknown source kind "{name}" (known: {_known(list(_SOURCES))})') from None


def names_of(kinds: Sequence[StepKind] | Sequence[SourceKind]) -> str:
    """``ssh and ansible``, ``ssh, local and manual``: kind names in words."""
    names = [k.name for k in kinds]
    if len(names) <= 1:
        return names[0] if names else "no"
    return ", ".join(names[:-1]) + " and " + names[-1]


def table_of(obj: StepSpec | SourceSpec | SignalSpec, name: str, table: type | None) -> Any:
    """``obj``'s ``[… .NAME]`` table of type ``table``: the model's own field when it has one
    (``step.slack``), else the one the loader read for a registered kind (``obj.tables``)."""
    if table is None:
        return None
    value = getattr(obj, name, None)
    if isinstance(value, table):
        return value
    value = obj.tables.get(name)
    return value if isinstance(value, table) else None
