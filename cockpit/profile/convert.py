"""Schema-driven conversion of parsed TOML into the frozen dataclasses of the model.

Walks a value and a type annotation together (see `cockpit.profile.schema`):
tables become dataclasses, arrays become tuples, tables of values become
read-only mappings, durations and conditions are parsed. Every problem is
reported with the path of the offending key, and conversion goes on so one
run reports everything it can.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin

from cockpit.conditions import Condition, ConditionError, parse_condition
from cockpit.durations import DurationError, parse_duration
from cockpit.profile.positions import Path, line_of
from cockpit.profile.problems import Problem, Severity
from cockpit.profile.schema import (
    KIND_PARSERS,
    MAX_DURATION,
    FieldInfo,
    describe,
    fields_of,
    is_profile_dataclass,
    kind_names,
    kind_tables,
    strip_optional,
    toml_keys,
)
from cockpit.sizes import SizeError, parse_size, parse_sizes

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()
_ELEMENT_NAMES = {"step": "step", "signal": "signal", "check": "check"}


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean "x"?)`` when a choice is close to ``word``, else an empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def show(value: Any, secret: bool = False) -> str:
    """A value as written in TOML, shortened; a secret field's value is never shown."""
    if secret:
        return "(value hidden)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return '"' + text.replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


class Reporter:
    """Collects problems, turning key paths into line numbers and readable names."""

    def __init__(self, raw: Mapping[str, Any], lines: dict[Path, int]) -> None:
        self.raw = raw
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, severity: Severity = "error", at: Path | None = None) -> None:
        where = self.name(path)
        text = f"{where}: {message}" if where else message
        self.problems.append(Problem(line_of(self.lines, at if at is not None else path), text, severity))

    def error(self, path: Path, message: str, at: Path | None = None) -> None:
        self.add(path, message, "error", at)

    def warning(self, path: Path, message: str, at: Path | None = None) -> None:
        self.add(path, message, "warning", at)

    def element_name(self, kind: str, index: int) -> str:
        """``step "pause-horizon"`` (or ``step #3`` when it has no usable id)."""
        items = self.raw.get(kind)
        item = items[index] if isinstance(items, list) and index < len(items) else None
        ident = None
        if isinstance(item, dict):
            ident = item.get("id")
            if ident is None and kind == "check":
                ident = item.get("signal")
        return f'{kind} "{ident}"' if isinstance(ident, str) and ident else f"{kind} #{index + 1}"

    def name(self, path: Path) -> str:
        """``step "pause-horizon": verify.exit_status``, ``sources.prom.url``, ``hosts.web[1]``."""
        head = ""
        rest = path
        if len(path) >= 2 and path[0] in _ELEMENT_NAMES and isinstance(path[1], int):
            head = self.element_name(str(path[0]), path[1])
            rest = path[2:]
        dotted = ""
        for part in rest:
            if isinstance(part, int):
                dotted += f"[{part}]"
            else:
                dotted += ("." if dotted else "") + part
        if head and dotted:
            return f"{head}: {dotted}"
        return head or dotted


class Converter:
    """Converts parsed TOML into model objects; remembers where each object came from."""

    def __init__(self, reporter: Reporter, base_dir: FsPath | None = None) -> None:
        self.report = reporter
        self.origins: dict[int, Path] = {}
        self.base_dir = base_dir  # the profile's directory: relative `path` fields are resolved against it

    def path_of(self, obj: object) -> Path:
        return self.origins.get(id(obj), ())

    def value(self, value: Any, tp: Any, path: Path, info: FieldInfo | None = None) -> Any:
        """``value`` converted to ``tp``, or INVALID after reporting why."""
        tp, _ = strip_optional(tp)
        parse = info.parse if info else None
        secret = bool(info and info.secret)
        if parse == "duration":
            return self._limited(self._parsed(value, path, parse_duration, DurationError, secret), path, info)
        if parse == "condition" or tp is Condition:
            return self._parsed(value, path, parse_condition, ConditionError, secret)
        if parse in ("size", "sizes"):
            try:
                return parse_sizes(value) if parse == "sizes" else parse_size(value, zero=True)
            except SizeError as e:
                self.report.error(path, str(e))
                return INVALID
        if parse in KIND_PARSERS:
            return self._kind(value, parse or "", path)
        origin = get_origin(tp)
        if origin is Literal:
            choices = [str(a) for a in get_args(tp)]
            if isinstance(value, str) and value in choices:
                return value
            listed = ", ".join(f'"{c}"' for c in choices)
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            self.report.error(path, f"{show(value, secret)} is not one of {listed}{hint}")
            return INVALID
        if origin is tuple:
            return self._tuple(value, get_args(tp)[0], path, info)
        if origin is Mapping or origin is dict:
            return self._mapping(value, get_args(tp)[1], path, info)
        if is_profile_dataclass(tp):
            if not isinstance(value, dict):
                self.report.error(path, f"expected a table, got {show(value, secret)}")
                return INVALID
            return self.dataclass(tp, value, path)
        return self._limited(self._scalar(value, tp, path, secret), path, info)

    def _kind(self, value: Any, parse: str, path: Path) -> Any:
        """A registered kind's name (`cockpit.kinds`), or INVALID after naming the known ones."""
        choices = kind_names(parse)
        if isinstance(value, str) and value in choices:
            return value
        listed = ", ".join(f'"{c}"' for c in choices)
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        self.report.error(path, f"{show(value)} is not one of {listed}{hint}")
        return INVALID

    def _limited(self, value: Any, path: Path, info: FieldInfo | None, item: bool = False) -> Any:
        """``value``, or INVALID after reporting why it is out of the field's range.

        Numbers are finite and within ``min``/``max``/``above``; durations at most `MAX_DURATION`;
        a string that has no empty default (and every item of a list of strings) says something;
        a ``path`` field is made absolute against the profile's directory.
        """
        if value is INVALID or info is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return self._in_range(value, path, info)
        if isinstance(value, str):
            if (item or info.default != "") and not value.strip():
                self.report.error(path, "must not be empty")
                return INVALID
            if info.exact and value != value.strip():
                self.report.error(path, "must not start or end with a space (it is typed to confirm steps)")
                return INVALID
            if info.path:
                return self._resolved(value, path, info.path == "directory_ok")
        return value

    def _in_range(self, value: float, path: Path, info: FieldInfo) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            self.report.error(path, f"{value} is not a finite number")
            return INVALID
        if info.parse == "duration":
            shortest = info.minimum
            longest = info.maximum if info.maximum is not None else MAX_DURATION
            if shortest is not None and value < shortest:
                self.report.error(path, f"{_seconds(value)} is too short: at least {_seconds(shortest)}")
                return INVALID
            if value > longest:
                self.report.error(path, f"{_seconds(value)} is too long: at most {_seconds(longest)}")
                return INVALID
            return value
        lo, hi = info.minimum, info.maximum
        if info.above is not None and not value > info.above:
            self.report.error(path, f"{value} is out of range: must be greater than {info.above:g}")
            return INVALID
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if lo is not None and hi is not None:
                allowed = f"{lo:g} to {hi:g}"
            else:
                allowed = f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
            self.report.error(path, f"{value} is out of range: must be {allowed}")
            return INVALID
        return value

    def _resolved(self, value: str, path: Path, directory_ok: bool) -> Any:
        """A path made absolute: ``~`` expanded, else relative to the profile's directory (not the cwd)."""
        if "${" in value or self.base_dir is None:
            return value
        full = FsPath(value).expanduser()
        full = full if full.is_absolute() else self.base_dir / full
        if full.is_dir() and not directory_ok and not any(c in value for c in "*?["):
            self.report.error(path, f'"{value}" is a directory ({full}), not a file')
            return INVALID
        return str(full) + ("/" if value.endswith("/") else "")   # "outbox/" stays a directory

    def _parsed(self, value: Any, path: Path, parse: Any, error: type[Exception], secret: bool) -> Any:
        if not isinstance(value, str):
            what = (
                'a duration string like "30s" or "15m"'
                if parse is parse_duration
                else 'a condition like "< 100"'
            )
            self.report.error(path, f"expected {what}, got {show(value, secret)}")
            return INVALID
        try:
            return parse(value)
        except error as e:
            self.report.error(path, "(value hidden)" if secret else str(e))
            return INVALID

    def _scalar(self, value: Any, tp: Any, path: Path, secret: bool) -> Any:
        ok = {
            str: isinstance(value, str),
            bool: isinstance(value, bool),
            int: isinstance(value, int) and not isinstance(value, bool),
            float: isinstance(value, int | float) and not isinstance(value, bool),
        }.get(tp)
        if ok is None:
            raise TypeError(f"profile model: unsupported field type {tp!r}")
        if not ok:
            self.report.error(path, f"expected {_article(describe(tp))}, got {show(value, secret)}")
            return INVALID
        return float(value) if tp is float else value

    def _tuple(self, value: Any, item_tp: Any, path: Path, info: FieldInfo | None = None) -> Any:
        if isinstance(value, str) and item_tp is str:   # a single string is a one-element list
            item = self._limited(value, path, info, item=True)
            return INVALID if item is INVALID else (item,)
        if not isinstance(value, list):
            hint = ""
            if isinstance(value, dict) and is_profile_dataclass(item_tp) and path:
                hint = f" (write [[{path[-1]}]] for each entry, not [{path[-1]}])"
            self.report.error(
                path, f"expected {_article(describe(tuple[item_tp, ...]))}, got {show(value)}{hint}"
            )
            return INVALID
        items = [self.value(v, item_tp, (*path, i)) for i, v in enumerate(value)]
        if not is_profile_dataclass(item_tp):
            items = [self._limited(v, (*path, i), info, item=True) for i, v in enumerate(items)]
        return tuple(v for v in items if v is not INVALID)

    def _mapping(self, value: Any, item_tp: Any, path: Path, info: FieldInfo | None = None) -> Any:
        if not isinstance(value, dict):
            self.report.error(path, f"expected a table, got {show(value)}")
            return INVALID
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not k.strip():
                self.report.error(path, f'an empty name ("{k}") is not allowed here', at=(*path, k))
                continue
            if is_profile_dataclass(item_tp) and isinstance(v, dict):
                conv = self.dataclass(item_tp, v, (*path, k), injected={"id": k})
            else:
                conv = self.value(v, item_tp, (*path, k))
                if info is not None and (isinstance(conv, int | float) or info.nonempty_values):
                    conv = self._limited(conv, (*path, k), info, item=True)   # the field's range, or non-empty
            if conv is not INVALID:
                out[k] = conv
        return MappingProxyType(out)

    def dataclass(
        self, cls: type, table: Mapping[str, Any], path: Path, injected: Mapping[str, Any] | None = None
    ) -> Any:
        """A table as ``cls``; INVALID when a required key is missing or any value is wrong."""
        kwargs, ok = self.fields(cls, table, path, injected)
        if not ok:
            return INVALID
        obj = cls(**kwargs)
        self.origins[id(obj)] = path
        return obj

    def fields(
        self, cls: type, table: Mapping[str, Any], path: Path, injected: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """The converted fields of ``table`` (those that converted) and whether all of them did."""
        keys = toml_keys(cls)
        holder = next((f for f in fields_of(cls) if f.kind_tables), None)
        family = holder.kind_tables if holder is not None else None
        extra = {k: v for k, v in kind_tables(family).items() if k not in keys} if family else {}
        ok = True
        tables: dict[str, Any] = {}
        for k in table:
            if k in extra:   # a registered kind's own table ([step.KIND], [sources.ID.KIND], [signal.KIND])
                conv = self.value(table[k], extra[k], (*path, k))
                if conv is INVALID:
                    ok = False
                else:
                    tables[k] = conv
            elif k not in keys:
                hint = did_you_mean(k, [*keys, *extra]) or f" (expected one of: {', '.join(keys)})"
                self.report.error(path, f'unknown key "{k}"{hint}', at=(*path, k))
                ok = False
        kwargs: dict[str, Any] = {}
        if holder is not None and tables:
            kwargs[holder.name] = MappingProxyType(tables)
        for f in fields_of(cls):
            if f.key is None:
                if injected and f.name in injected:
                    kwargs[f.name] = injected[f.name]
                continue
            if f.key in table:
                conv = self.value(table[f.key], f.type, (*path, f.key), f)
                if conv is INVALID:
                    ok = False
                else:
                    kwargs[f.name] = conv
            elif f.default_from is not None:
                src = table.get(f.default_from)
                if isinstance(src, str):
                    kwargs[f.name] = src
            elif f.optional_table:
                kwargs[f.name] = self.value({} if _is_table_type(f.type) else [], f.type, (*path, f.key), f)
            elif f.required:
                if is_profile_dataclass(strip_optional(f.type)[0]):
                    self.report.error(path, f"missing required table [{'.'.join(map(str, (*path, f.key)))}]")
                else:
                    self.report.error(path, f'missing required key "{f.key}" ({describe(f.type, f.parse)})')
                ok = False
        return kwargs, ok


def _is_table_type(tp: Any) -> bool:
    tp, _ = strip_optional(tp)
    return get_origin(tp) in (Mapping, dict) or is_profile_dataclass(tp)


def _article(word: str) -> str:
    if word.startswith(("list", "table", "one of", "duration", "condition")):
        return word if word.startswith("one of") else f"a {word}"
    return ("an " if word[0] in "aeiou" else "a ") + word


def _seconds(value: float) -> str:
    """Seconds as a duration is written: ``100ms``, ``1s``, ``168h``, ``1h30m``."""
    if value < 1:
        return f"{value * 1000:g}ms"
    if value >= 1e7:
        return f"{value / 3600:.0f}h"
    out, rest = "", value
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        if n:
            out += f"{int(n)}{unit}"
    if rest >= 0.001:
        out += f"{rest * 1000:.0f}ms"
    return out
