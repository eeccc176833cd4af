"""The profile format as seen from the dataclasses of `cockpit.profile.model`.

Everything the loader and the docs know about a key comes from here: its TOML
name (the field name, or ``toml`` metadata; ``toml=None`` means "not a key"),
its type (the annotation), how a string is parsed (``parse`` metadata),
whether it is required, and its documentation.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Union, get_args, get_origin

from cockpit.conditions import Condition

# every duration is > 0 (its parser) and at most 7 days: far beyond, timeouts overflow C's time_t
MAX_DURATION = 7 * 24 * 3600.0


KIND_PARSERS = ("step_kind", "source_kind")


def kind_names(parse: str) -> list[str]:
    """The registered step kinds (``parse="step_kind"``) or source kinds (``"source_kind"``)."""
    from cockpit.kinds import source_kinds, step_kinds

    return [k.name for k in (step_kinds() if parse == "step_kind" else source_kinds())]


def kind_tables(family: str) -> dict[str, type]:
    """Kind name -> the dataclass of its table, for ``kind_tables`` fields ("step", "source", "signal")."""
    from cockpit.kinds import source_kinds, step_kinds

    if family == "step":
        return {k.name: k.table for k in step_kinds() if k.table is not None}
    attr = "table" if family == "source" else "signal_table"
    return {k.name: getattr(k, attr) for k in source_kinds() if getattr(k, attr) is not None}


@dataclass(frozen=True)
class FieldInfo:
    """One field of a profile dataclass, seen as a TOML key."""

    name: str  # the Python attribute
    key: str | None  # the TOML key; None: not read from the file
    type: Any  # the resolved annotation
    required: bool
    default: Any  # MISSING when required or computed
    doc: str
    parse: str | None  # "duration" | "condition" | None
    secret: bool
    default_from: str | None  # another field's TOML key whose value is the default
    optional_table: bool  # absent table or array means empty / all defaults
    minimum: float | None = None  # numbers and durations (seconds): the smallest value allowed
    maximum: float | None = None  # the largest value allowed
    above: float | None = None  # exclusive lower bound (``scale`` must be > 0)
    path: bool | str = False  # a file path resolved against the profile's directory ("directory_ok": or a dir)
    nonempty_values: bool = False  # a table whose string values must not be empty
    exact: bool = False  # typed to confirm: no leading or trailing blanks
    kind_tables: str | None = None  # "step"/"source"/"signal": holds the tables of registered kinds


@functools.cache
def fields_of(cls: type) -> tuple[FieldInfo, ...]:
    """The fields of a profile dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        key = meta.get("toml", f.name)
        if f.default is not MISSING:
            default: Any = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        optional_table = bool(meta.get("optional", False))
        default_from = meta.get("default_from")
        out.append(
            FieldInfo(
                name=f.name,
                key=key,
                type=hints[f.name],
                required=default is MISSING and not optional_table and default_from is None,
                default=default,
                doc=str(meta.get("doc", "")),
                parse=meta.get("parse"),
                secret=bool(meta.get("secret", False)),
                default_from=default_from,
                optional_table=optional_table,
                minimum=meta.get("min"),
                maximum=meta.get("max", MAX_DURATION if meta.get("parse") == "duration" else None),
                above=meta.get("above"),
                path=meta.get("path", False),
                nonempty_values=bool(meta.get("nonempty_values", False)),
                exact=bool(meta.get("exact", False)),
                kind_tables=meta.get("kind_tables"),
            )
        )
    return tuple(out)


def toml_keys(cls: type) -> dict[str, FieldInfo]:
    """TOML key -> field, for the fields read from the file."""
    return {f.key: f for f in fields_of(cls) if f.key is not None}


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(tp, False)``."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def is_profile_dataclass(tp: Any) -> bool:
    """A dataclass read from a TOML table (a `Condition` is read from a string instead)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp is not Condition


def describe(tp: Any, parse: str | None = None) -> str:
    """A type in words, for messages and docs: ``list of strings``, ``duration``, ``one of "a", "b"``."""
    tp, _ = strip_optional(tp)
    if parse in KIND_PARSERS:
        return "one of " + ", ".join(f'"{n}"' for n in kind_names(parse))
    if parse == "duration":
        return 'duration ("30s", "15m", "1h30m")'
    if parse == "condition" or tp is Condition:
        return 'condition ("< 100")'
    if parse == "sizes":
        return 'list of batch sizes (1, "10%")'
    if parse == "size":
        return 'host count or percentage (3, "10%")'
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(f'"{a}"' for a in get_args(tp))
    if origin is tuple:
        return f"list of {_plural(get_args(tp)[0])}"
    if origin in (Mapping, dict, typing.Mapping):
        return f"table of {_plural(get_args(tp)[1])}"
    if is_profile_dataclass(tp):
        return "table"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, str(tp))


def _plural(tp: Any) -> str:
    word = describe(tp)
    if is_profile_dataclass(tp):
        return "tables"
    if word.startswith("list of"):
        return "lists of " + word[len("list of ") :]
    return {"string": "strings", "integer": "integers", "number": "numbers", "boolean": "booleans"}.get(
        word, word
    )
