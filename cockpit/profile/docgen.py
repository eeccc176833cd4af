"""The key reference of docs/profile.md, generated from the model's metadata.

``python -m cockpit.profile.docgen`` rewrites the part of docs/profile.md
between the markers; ``--check`` exits 1 when it is out of date (the tests
run it, so a field added to model.py without regenerating the doc fails).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import MISSING
from pathlib import Path
from typing import get_args, get_origin

from cockpit.profile.model import Profile
from cockpit.profile.schema import (
    MAX_DURATION,
    FieldInfo,
    describe,
    fields_of,
    is_profile_dataclass,
    strip_optional,
)

BEGIN = "<!-- BEGIN GENERATED KEY REFERENCE (python -m cockpit.profile.docgen) -->"
END = "<!-- END GENERATED KEY REFERENCE -->"
DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "profile.md"


def _duration(seconds: float) -> str:
    out, rest = "", seconds
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        if n:
            out += f"{int(n)}{unit}"
    if rest:
        out += f"{round(rest * 1000)}ms"
    return f'`"{out}"`'


def _default(f: FieldInfo) -> str:
    if f.default_from:
        return f"the `{f.default_from}`"
    if f.default is MISSING:
        return "empty" if f.optional_table else "**required**"
    v = f.default
    if v is None:
        return "unset"
    if f.parse == "duration":
        return _duration(float(v))
    if isinstance(v, bool):
        return f"`{'true' if v else 'false'}`"
    if isinstance(v, str):
        return f'`"{v}"`' if v else '`""`'
    if isinstance(v, tuple):
        return "`[]`" if not v else f"`{list(v)}`"
    if isinstance(v, Mapping):
        return "`{}`" if not v else f"`{dict(v)}`"
    if is_profile_dataclass(type(v)):
        return "all defaults"
    return f"`{v}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _limits(f: FieldInfo) -> str:
    """`` 1–65535``, `` ≥ 100ms``, `` > 0``, ``, a path``: what `cockpit check` enforces beyond the type."""
    if f.parse == "duration":
        lo = f" ≥ {_duration(f.minimum)[2:-2]}," if f.minimum is not None else ""
        return f",{lo} ≤ {_duration(f.maximum or MAX_DURATION)[2:-2]}"
    if f.minimum is not None and f.maximum is not None:
        return f" {f.minimum:g}–{f.maximum:g}"
    if f.minimum is not None:
        return f" ≥ {f.minimum:g}"
    if f.above is not None:
        return f" > {f.above:g}"
    if f.path:
        return " (a path: relative to the profile's directory)"
    return ""


def _table(cls: type) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for f in fields_of(cls):
        if f.key is None:
            continue
        kind = describe(f.type, f.parse) + _limits(f)
        if f.secret:
            kind += " (secret: `${env:…}`)"
        rows.append(f"| `{f.key}` | {_cell(kind)} | {_cell(_default(f))} | {_cell(f.doc)} |")
    return rows


def _sections() -> Iterator[tuple[str, type, str]]:
    """(heading, dataclass, intro) for every table of the format, in file order."""
    for f in fields_of(Profile):
        if f.key is None:
            continue
        tp, _ = strip_optional(f.type)
        origin = get_origin(tp)
        if is_profile_dataclass(tp):
            yield f"[{f.key}]", tp, f.doc
        elif origin is tuple and is_profile_dataclass(get_args(tp)[0]):
            cls = get_args(tp)[0]
            yield f"[[{f.key}]]", cls, f.doc
            for sub in fields_of(cls):
                stp, _ = strip_optional(sub.type)
                if is_profile_dataclass(stp):
                    yield f"[{f.key}.{sub.key}]", stp, sub.doc
        elif origin is not None and get_args(tp) and is_profile_dataclass(get_args(tp)[-1]):
            yield f"[{f.key}.NAME]", get_args(tp)[-1], f.doc


def _plain_tables() -> list[str]:
    out = []
    for f in fields_of(Profile):
        tp, _ = strip_optional(f.type)
        if f.key is None or is_profile_dataclass(tp):
            continue
        args = get_args(tp)
        if get_origin(tp) is tuple or (args and is_profile_dataclass(args[-1])):
            continue
        out.append(f"- `[{f.key}]`: {describe(tp)}. {f.doc}")
    return out


_WHERE = {"hosts": "on its host group (`hosts`)", "local": "this machine (the bastion)"}


def _kinds() -> list[str]:
    """The registered step and source kinds (`cockpit.kinds`), one row each."""
    from cockpit.kinds import source_kinds, step_kinds

    rows = ["### Step kinds (`kind` of a `[[step]]`)", "",
            "| kind | runs | table | previews | reports checks | what it does |", "|---|---|---|---|---|---|"]
    for k in step_kinds():
        where = _WHERE.get(k.runs_on) or k.where or "no host"
        table = f"`[step.{k.name}]`" if k.table is not None else "-"
        runs = "by hand (ticked)" if k.ticked else where
        previews = "yes" if k.previews else ("`preview` command" if k.takes_command else "-")
        rows.append(f"| `{k.name}` | {_cell(runs)} | {table} | {previews} | "
                    f"{'yes' if k.reports_checks else '-'} | {_cell(k.doc)} |")
    rows += ["", "### Source kinds (`kind` of a `[sources.NAME]`)", "",
             "| kind | runs | signals read | what it does |", "|---|---|---|---|"]
    for src in source_kinds():
        where = "on the first host of `hosts`" if src.runs_on == "hosts" else "this cockpit reads `url`" if src.url else "this cockpit"
        keys = ", ".join(f"`{key}`" for key in src.signal_keys) or "-"
        rows.append(f"| `{src.name}` | {_cell(where)} | {keys} | {_cell(src.doc)} |")
    return [*rows, ""]


def _kind_sections() -> Iterator[tuple[str, type, str]]:
    """The tables of registered kinds that the model has no field for (``StepSpec.tables``, ...)."""
    from cockpit.kinds import source_kinds, step_kinds
    from cockpit.profile.model import StepSpec

    own = {f.key for f in fields_of(StepSpec)}
    for k in step_kinds():
        if k.table is not None and k.name not in own:
            yield f"[step.{k.name}]", k.table, f"kind = {k.name}: `[step.{k.name}]`."
    for src in source_kinds():
        if src.table is not None:
            yield f"[sources.NAME.{src.name}]", src.table, f"kind = {src.name}: its source's own table."
        if src.signal_table is not None:
            yield f"[signal.{src.name}]", src.signal_table, f"A signal on a {src.name} source: its own table."


def generate() -> str:
    """The generated Markdown (between the markers)."""
    lines: list[str] = ["", *_kinds(), "Tables whose keys are names you choose:", "", *_plain_tables(), ""]
    for heading, cls, intro in [*_sections(), *_kind_sections()]:
        lines += [f"### `{heading}`", "", intro, "", *_table(cls), ""]
    return "\n".join(lines)


KEYS_BEGIN = "<!-- BEGIN GENERATED APP KEYS -->"
KEYS_END = "<!-- END GENERATED APP KEYS -->"


def generate_keys() -> str:
    """The app's own keys, from `cockpit.profile.keys.APP_KEYS`."""
    from cockpit.profile.keys import APP_KEYS

    rows = ["| action | key |", "|---|---|"]
    rows += [f"| `{action}` | `{key}` |" for action, key in APP_KEYS.items()]
    return "\n".join(rows)


def _replace(doc: str, begin: str, end: str, body: str) -> str:
    head, sep, rest = doc.partition(begin)
    if not sep:
        raise ValueError(f"{DOC}: marker {begin!r} missing")
    _, sep2, tail = rest.partition(end)
    if not sep2:
        raise ValueError(f"{DOC}: marker {end!r} missing")
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(doc: str) -> str:
    """``doc`` with its generated parts replaced."""
    doc = _replace(doc, KEYS_BEGIN, KEYS_END, generate_keys())
    return _replace(doc, BEGIN, END, generate())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in args:
        if current != wanted:
            print(f"{DOC} is out of date: run python -m cockpit.profile.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
