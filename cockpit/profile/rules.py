"""Cross-key rules of a profile: references, ids, keys, kinds, cycles, secrets.

Runs on whatever converted (see `cockpit.profile.convert`); the names that
exist are taken from the raw TOML so one broken entry does not make every
reference to it an error too.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cockpit.kinds import KindError, SourceKind, names_of, source_kind, source_kinds, step_kind, step_kinds
from cockpit.profile.convert import Converter, Reporter, did_you_mean, show
from cockpit.profile.keys import APP_KEYS, MULTIPLEXER_KEYS, normalize_key, reserved_for
from cockpit.profile.model import (
    CheckSpec,
    CockpitSettings,
    Profile,
    SignalSpec,
    SourceSpec,
    StepSpec,
)
from cockpit.profile.positions import Path as KeyPath
from cockpit.profile.schema import fields_of, toml_keys
from cockpit.profile.vars import var_refs
from cockpit.secrets import env_refs

_URL = re.compile(r"^(https?://|\$\{env:)")
_KEY = re.compile(r"^\S+$")


def _with_misspelt_tables(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``raw`` where a misspelt top-level table (``[hots]``) also counts as the one meant, so the
    names it defines are known and only the misspelling is reported."""
    known = list(toml_keys(Profile))
    out = dict(raw)
    for key, value in raw.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if close and close[0] not in raw:
                out[close[0]] = value
    return out


def _names(raw: Mapping[str, Any], table: str) -> list[str]:
    value = raw.get(table)
    return [k for k in value] if isinstance(value, dict) else []


def _ids(raw: Mapping[str, Any], array: str, fallback: str | None = None) -> list[str]:
    items = raw.get(array)
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            ident = item.get("id", item.get(fallback) if fallback else None)
            if isinstance(ident, str):
                out.append(ident)
    return out


class Rules:
    """Applies every cross-key rule, reporting through the converter's reporter.

    The rules shared by every kind are here; what differs between kinds is read from each kind's
    record (`cockpit.kinds`), and each kind's own rules (``StepKind.rules``, ``SourceKind.rules``)
    are called with this object as their `cockpit.kinds.RuleContext`.
    """

    def __init__(
        self, raw: Mapping[str, Any], parts: Mapping[str, Any], conv: Converter, base_dir: Path | None = None
    ) -> None:
        self.base_dir = base_dir  # the profile's directory: every relative path is relative to it
        self.raw = raw
        self.parts = parts
        self.conv = conv
        self.rep: Reporter = conv.report
        names = _with_misspelt_tables(raw)
        self.groups = _names(names, "hosts")
        self.var_names = _names(names, "vars")
        self.source_names = _names(names, "sources")
        self.signal_ids = _ids(names, "signal")
        self.step_ids = _ids(names, "step")

    def run(self, environ: Mapping[str, str] | None = None) -> None:
        self.ssh()
        self.hosts()
        self.vars()
        self.sources()
        self.signals()
        self.checks()
        self.steps()
        self.app_keys()
        self.secrets(os.environ if environ is None else environ)
        from cockpit import integrations

        integrations.check(self)

    # -- helpers (also the RuleContext of each kind's own rules) ----------------------
    def error(self, path: KeyPath, message: str, at: KeyPath | None = None) -> None:
        self.rep.error(path, message, at)

    def warning(self, path: KeyPath, message: str, at: KeyPath | None = None) -> None:
        self.rep.warning(path, message, at)

    def raw_at(self, path: KeyPath) -> Mapping[str, Any]:
        """The raw TOML table at ``path`` (empty when there is none)."""
        return self._raw_at(path)

    def group(self, name: str) -> tuple[str, ...] | None:
        """The group's hosts; None when it did not load (its own problem is reported already)."""
        return self._group(name)

    def ref(self, path: KeyPath, what: str, name: str, known: list[str]) -> bool:
        if name in known:
            return True
        hint = did_you_mean(name, known) or (
            f" (known: {', '.join(known)})" if known else f" (no {what}s defined)"
        )
        self.rep.error(path, f'unknown {what} "{name}"{hint}')
        return False

    def var_use(self, path: KeyPath, text: str | None) -> None:
        for name in var_refs(text or ""):
            if name not in self.var_names:
                hint = (
                    did_you_mean(name, self.var_names)
                    or " (define it in [vars], or write {{ }} for literal braces)"
                )
                self.rep.error(path, f'undefined var "{{{name}}}"{hint}')

    def duplicates(self, items: list[Any], label: str, id_key: str = "id") -> None:
        seen: dict[str, KeyPath] = {}
        for item in items:
            path = self.conv.path_of(item)
            if item.id in seen:
                first = self.rep.lines.get((*seen[item.id], id_key)) or self.rep.lines.get(seen[item.id], 1)
                self.rep.error(
                    path,
                    f'duplicate {label} id "{item.id}" (first defined at line {first})',
                    at=(*path, id_key),
                )
            else:
                seen[item.id] = path

    # -- sections ------------------------------------------------------------------
    def ssh(self) -> None:
        settings = self.parts.get("ssh")
        if settings is not None and getattr(settings, "handshakes", 1) < 1:
            self.rep.error(("ssh", "handshakes"), "handshakes must be 1 or more (handshakes in flight at once)")

    def hosts(self) -> None:
        groups: Mapping[str, tuple[str, ...]] = self.parts.get("hosts") or {}
        for name, members in groups.items():
            for i, host in enumerate(members):
                if not host.strip() or any(c.isspace() for c in host):
                    self.rep.error(("hosts", name, i), f"{show(host)} is not a host name")
            dup = sorted({h for h in members if members.count(h) > 1})
            if dup:
                self.rep.error(("hosts", name), f'host "{dup[0]}" is listed twice in group "{name}"')

    def vars(self) -> None:
        raw_vars = self.raw.get("vars")
        if not isinstance(raw_vars, dict):
            return
        for name, text in raw_vars.items():
            if isinstance(text, str):
                self.var_use(("vars", name), text)
        # cycles: a var reaching itself through other vars
        graph = {
            n: [r for r in var_refs(t) if r in raw_vars] for n, t in raw_vars.items() if isinstance(t, str)
        }
        for start in graph:
            if self._reaches(graph, start, start):
                self.rep.error(
                    ("vars", start), f'var "{start}" refers to itself (through {{var}} references)'
                )

    @staticmethod
    def _reaches(graph: Mapping[str, list[str]], start: str, target: str) -> bool:
        stack, seen = list(graph.get(start, [])), set()
        while stack:
            n = stack.pop()
            if n == target:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(graph.get(n, []))
        return False

    def sources(self) -> None:
        sources: Mapping[str, SourceSpec] = self.parts.get("sources") or {}
        hosted = [k for k in source_kinds() if k.runs_on == "hosts"]
        for src in sources.values():
            path = self.conv.path_of(src)
            try:
                kind = source_kind(src.kind)
            except KindError as e:   # never judged by another kind's rules
                self.rep.error((*path, "kind"), str(e))
                continue
            if kind.url:
                if not src.url:
                    self.rep.error(path, f'{kind.a()} source needs "url"')
                elif not _URL.match(src.url):
                    self.rep.error((*path, "url"), "url must start with http:// or https://")
            if kind.runs_on != "hosts" and src.hosts is not None:
                self.rep.error((*path, "hosts"), f'"hosts" is only for {names_of(hosted)} sources, not {kind.name}')
            if kind.url and src.max_bytes < 1:
                self.rep.error((*path, "max_bytes"), "must be 1 or more (a size in bytes, e.g. 4194304 for 4 MB)")
            if kind.runs_on == "hosts":
                if src.hosts is None:
                    self.rep.error(
                        path, f'{kind.a()} source needs "hosts" (the group whose first host runs commands)'
                    )
                elif (
                    self.ref((*path, "hosts"), "host group", src.hosts, self.groups)
                    and self._group(src.hosts) == ()
                ):
                    self.rep.error((*path, "hosts"), f'host group "{src.hosts}" is empty')
            if not kind.url and src.url is not None:
                self.rep.error((*path, "url"), f'"url" is not used by {kind.name} sources')
            self.foreign_tables(src, path, kind, "table", f"sources.{src.id}")
            if kind.rules is not None:
                kind.rules(self, src, path)

    def foreign_tables(self, obj: SourceSpec | SignalSpec, path: KeyPath, kind: SourceKind, attr: str,
                    where: str) -> None:
        """A registered source kind's optional table, present on an object of another kind."""
        for other in source_kinds():
            table = getattr(other, attr)
            value = obj.tables.get(other.name) if table is not None else None
            if value is not None and other is not kind:
                self.rep.error((*path, other.name), f'[{where}.{other.name}] is only for {other.name} sources '
                               f'(this one is {kind.name})')

    def _group(self, name: str) -> tuple[str, ...] | None:
        """The group's hosts; None when it did not load (its own problem is reported already)."""
        hosts: Mapping[str, tuple[str, ...]] = self.parts.get("hosts") or {}
        return hosts.get(name)

    def signals(self) -> None:
        signals: tuple[SignalSpec, ...] = self.parts.get("signals") or ()
        sources: Mapping[str, SourceSpec] = self.parts.get("sources") or {}
        self.duplicates(list(signals), "signal")
        for sig in signals:
            path = self.conv.path_of(sig)
            self.var_use((*path, "command"), sig.command)
            if sig.workers_signal is not None:
                self.ref((*path, "workers_signal"), "signal", sig.workers_signal, self.signal_ids)
            if not self.ref((*path, "source"), "source", sig.source, self.source_names):
                continue
            src = sources.get(sig.source)
            if src is None:
                continue
            try:
                kind = source_kind(src.kind)
            except KindError:
                continue   # reported at the source
            self.signal_kind(sig, src, kind, path)

    def signal_kind(self, sig: SignalSpec, src: SourceSpec, kind: SourceKind, path: KeyPath) -> None:
        """A signal's keys against its source's kind: what it needs, what only other kinds read."""
        keys = toml_keys(SignalSpec)
        for key, hint in kind.signal_needs:
            if not getattr(sig, keys[key].name):
                self.rep.error(path, f'signal on {kind.name} source "{sig.source}" needs "{key}"{hint}')
        owners: dict[str, list[SourceKind]] = {}
        for other in source_kinds():
            for key in other.signal_keys:
                owners.setdefault(key, []).append(other)
        for key, readers in owners.items():
            if key in kind.signal_keys or key not in keys:
                continue
            info = keys[key]
            if getattr(sig, info.name) != info.default:
                self.rep.error(
                    (*path, key), f'"{key}" is only for {names_of(readers)} sources ("{sig.source}" is {kind.name})'
                )
        self.foreign_tables(sig, path, kind, "signal_table", "signal")
        if kind.signal_rules is not None:
            kind.signal_rules(self, sig, src, path)

    def checks(self) -> None:
        checks: tuple[CheckSpec, ...] = self.parts.get("checks") or ()
        seen: dict[str, KeyPath] = {}
        for chk in checks:
            path = self.conv.path_of(chk)
            if chk.id in seen:
                first = self.rep.lines.get((*seen[chk.id], "id")) or self.rep.lines.get(seen[chk.id], 1)
                hint = "" if "id" in self._raw_at(path) else '; give it its own "id"'
                self.rep.error(
                    path,
                    f'duplicate check id "{chk.id}" (first defined at line {first}){hint}',
                    at=(*path, "id"),
                )
            else:
                seen[chk.id] = path
            self.ref((*path, "signal"), "signal", chk.signal, self.signal_ids)

    def _raw_at(self, path: KeyPath) -> Mapping[str, Any]:
        node: Any = self.raw
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return {}
        return node if isinstance(node, dict) else {}

    def steps(self) -> None:
        steps: tuple[StepSpec, ...] = self.parts.get("steps") or ()
        self.duplicates(list(steps), "step")
        cockpit: CockpitSettings | None = self.parts.get("cockpit")
        rebinding = cockpit.keys if cockpit else {}
        keys_seen: dict[str, str] = {}
        for step in steps:
            path = self.conv.path_of(step)
            self.step_key(step, path, rebinding, keys_seen)
            self.step_kind(step, path)
            for i, dep in enumerate(step.after):
                if dep == step.id:
                    self.rep.error((*path, "after", i), f'step "{step.id}" cannot come after itself')
                else:
                    self.ref((*path, "after", i), "step", dep, self.step_ids)
            if step.destructive and (step.run != "once" or step.confirm != "type"):
                self.rep.error(
                    (*path, "destructive"), 'a destructive step must have run = "once" and confirm = "type"'
                )
            if step.concurrency < 0:
                self.rep.error((*path, "concurrency"), "concurrency must be 0 (all hosts) or more")
            self.step_batch(step, path)
        self.cycles(steps)

    def step_batch(self, step: StepSpec, path: KeyPath) -> None:
        """``batch``/``max_fail``/``gate``: a parallel ssh step's rollout; the gate names real checks."""
        batchable = [k for k in step_kinds() if k.batchable]
        kind = next((k for k in batchable if k.name == step.kind), None)
        # a remote command is rolled out only when it runs in parallel; a kind with its own executor
        # (ansible) takes one batch's hosts per run
        if step.batch and (kind is None or (kind.runner and step.run != "parallel")):
            self.rep.error((*path, "batch"), f'batch is for ssh steps with run = "parallel" and '
                           f'{names_of([k for k in batchable if not k.runner])} steps '
                           f'(this one: kind = "{step.kind}", run = "{step.run}")')
        if step.max_fail != "0" and not step.batch:
            self.rep.error((*path, "max_fail"), "max_fail needs batch (the budget is checked between batches)")
        if step.gate is None:
            return
        if not step.batch:
            self.rep.error((*path, "gate"), "gate needs batch (it is waited for between batches)")
        checks = _ids(self.raw, "check", fallback="signal")
        for i, check in enumerate(step.gate.checks):
            self.ref((*path, "gate", "checks", i), "check", check, checks)
        if not step.gate.checks:
            self.rep.error((*path, "gate", "checks"), "a gate needs at least one check")
        if step.gate.samples < 1:
            self.rep.error((*path, "gate", "samples"), "samples must be 1 or more")
        if step.gate.timeout <= 0:
            self.rep.error((*path, "gate", "timeout"), "timeout must be more than 0s")

    def step_key(
        self, step: StepSpec, path: KeyPath, rebinding: Mapping[str, str], seen: dict[str, str]
    ) -> None:
        if step.key is None:
            return
        kpath = (*path, "key")
        if not _KEY.match(step.key):
            self.rep.error(
                kpath, f'"{step.key}" is not a key name (one character, or a name like "f5", "ctrl+x")'
            )
            return
        taken = reserved_for(step.key, rebinding)
        if taken:
            self.rep.error(kpath, f'key "{step.key}" is reserved ({taken}); choose another')
            return
        norm = normalize_key(step.key)
        if norm in seen:
            self.rep.error(kpath, f'key "{step.key}" is already used by step "{seen[norm]}"')
        else:
            seen[norm] = step.id

    def step_kind(self, step: StepSpec, path: KeyPath) -> None:
        """The rules every kind shares, read from the kind's record, then the kind's own rules."""
        try:
            kind = step_kind(step.kind)
        except KindError as e:   # never judged by another kind's rules
            self.rep.error((*path, "kind"), str(e))
            return
        kinds = step_kinds()
        if kind.runs_on == "hosts":
            if step.hosts is None:
                self.rep.error(path, f'{kind.a()} step needs "hosts" (a host group)')
            elif (
                self.ref((*path, "hosts"), "host group", step.hosts, self.groups)
                and self._group(step.hosts) == ()
            ):
                if step.run == "once":
                    self.rep.error(
                        (*path, "hosts"), f'run = "once" needs a host, but host group "{step.hosts}" is empty'
                    )
                else:
                    self.rep.warning(
                        (*path, "hosts"), f'host group "{step.hosts}" is empty: the step runs nowhere'
                    )
        elif step.hosts is not None:
            hosted = names_of([k for k in kinds if k.runs_on == "hosts"])
            self.rep.error((*path, "hosts"), f'"hosts" is only for {hosted} steps (this step is kind = "{kind.name}")')
        if kind.takes_command:
            if not step.command:
                self.rep.error(path, f'{kind.a()} step needs "command"')
        else:
            commanded = names_of([k for k in kinds if k.takes_command])
            for name in ("command", "preview", "verify"):
                if getattr(step, name) is not None:
                    self.rep.error(
                        (*path, name),
                        f'"{name}" is only for {commanded} steps (this step is kind = "{kind.name}")',
                    )
        for other in kinds:
            if other.table is None:
                continue
            present = other.spec_of(step) is not None
            if other is kind and not present and other.name not in self._raw_at(path):
                self.rep.error(path, f"{kind.name} steps need a [step.{kind.name}] table")
            elif other is not kind and present:
                self.rep.error(
                    (*path, other.name),
                    f'[step.{other.name}] is only for kind = "{other.name}" (this step is kind = "{kind.name}")',
                )
        if kind.rules is not None:
            kind.rules(self, step, path)
        self.var_use((*path, "command"), step.command)
        self.var_use((*path, "preview"), step.preview)
        if step.verify is not None:
            self.var_use((*path, "verify", "command"), step.verify.command)

    def cycles(self, steps: tuple[StepSpec, ...]) -> None:
        graph = {s.id: [d for d in s.after if d != s.id] for s in steps}
        reported: set[str] = set()
        for step in steps:
            if step.id in reported or not self._reaches(graph, step.id, step.id):
                continue
            cycle = self._cycle(graph, step.id)
            reported.update(cycle)
            path = self.conv.path_of(step)
            self.rep.error(
                path, "after forms a cycle: " + " -> ".join([*cycle, cycle[0]]), at=(*path, "after")
            )

    @staticmethod
    def _cycle(graph: Mapping[str, list[str]], start: str) -> list[str]:
        def walk(node: str, trail: list[str]) -> list[str] | None:
            for nxt in graph.get(node, []):
                if nxt == start:
                    return trail
                if nxt not in trail:
                    found = walk(nxt, [*trail, nxt])
                    if found:
                        return found
            return None

        return walk(start, [start]) or [start]

    def app_keys(self) -> None:
        cockpit: CockpitSettings | None = self.parts.get("cockpit")
        if cockpit is None:
            return
        used: dict[str, str] = {}
        for action in APP_KEYS:
            used[normalize_key(cockpit.keys.get(action, APP_KEYS[action]))] = action
        for action, key in cockpit.keys.items():
            path: KeyPath = ("cockpit", "keys", action)
            if action not in APP_KEYS:
                hint = did_you_mean(action, list(APP_KEYS)) or f" (actions: {', '.join(APP_KEYS)})"
                self.rep.error(path, f'unknown action "{action}"{hint}')
                continue
            norm = normalize_key(key)
            if norm in {normalize_key(k) for k in MULTIPLEXER_KEYS}:
                self.rep.error(path, f'key "{key}" is {MULTIPLEXER_KEYS[norm]}; choose another')
            elif used.get(norm) != action:
                self.rep.error(path, f'key "{key}" is already the app\'s {used[norm].replace("_", " ")} key')

    # -- secrets -------------------------------------------------------------------
    def secrets(self, environ: Mapping[str, str]) -> None:
        for path, text in _strings(self.raw, ()):
            for name in env_refs(text):
                if name not in environ:
                    self.rep.warning(
                        path, f"environment variable {name} is not set (referenced as ${{env:{name}}})"
                    )
        tables: list[tuple[KeyPath, str, Any]] = []
        for step in self.parts.get("steps") or ():
            tables += [(self.conv.path_of(step), k.name, k.spec_of(step)) for k in step_kinds()]
        for src in (self.parts.get("sources") or {}).values():
            tables += [(self.conv.path_of(src), k.name, k.spec_of(src)) for k in source_kinds()]
        for sig in self.parts.get("signals") or ():
            tables += [(self.conv.path_of(sig), k.name, k.signal_spec_of(sig)) for k in source_kinds()]
        for spath, name, sub in tables:
            if sub is None:
                continue
            cls: type = type(sub)
            for f in fields_of(cls):
                value = getattr(sub, f.name)
                if f.secret and isinstance(value, str) and value and not env_refs(value):
                    self.rep.warning(
                        (*spath, name, f.key or f.name),
                        "holds a literal secret: use ${env:NAME} so it stays out of the file",
                    )


def _strings(node: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, (*path, i))
