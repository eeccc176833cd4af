"""What every source kind shares: the `Sampler` protocol, `SourceError` and value parsing.

A leaf: it imports no sampler. Each source kind's sampler is built by its record in
`cockpit.kinds` (`make_sampler`), which imports the kind's module only then.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from cockpit.profile.model import Profile, SignalSpec, SourceSpec
from cockpit.secrets import redact, secret_values

Values = dict[str, float]
Points = dict[str, list[tuple[float, float]]]


class SourceError(Exception):
    """A failed sample. The message is shown to people: short, clear, never a secret."""


class Sampler(Protocol):
    """One per source. ``sample`` returns label -> value, or raises `SourceError`."""

    spec: SourceSpec

    async def sample(self, signal: SignalSpec) -> Values: ...

    async def backfill(self, signal: SignalSpec, now: float) -> Points: ...

    async def close(self) -> None: ...


def to_float(text: object) -> float:
    """A Prometheus/JSON/command value as float: ``"NaN"``, ``"+Inf"``, ``"-Inf"`` included."""
    if isinstance(text, bool):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, int | float):
        return float(text)
    if isinstance(text, str):
        s = text.strip()
        low = s.lower()
        if low in ("nan", "+nan", "-nan"):
            return math.nan
        if low in ("inf", "+inf", "infinity", "+infinity"):
            return math.inf
        if low in ("-inf", "-infinity"):
            return -math.inf
        return float(s)
    raise ValueError(f"not a number: {text!r}")


def shorten(text: str, limit: int = 60) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters (for garbage shown in reasons)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def spec_secrets(spec: SourceSpec) -> list[str]:
    """Current values of every ``${env:…}`` the source references (to redact its messages)."""
    return secret_values([spec.url or "", *spec.headers.values()])


def clean_error(spec: SourceSpec, text: str) -> SourceError:
    """A `SourceError` whose message can be shown: one line, secrets redacted."""
    line = " ".join(text.split())
    return SourceError(redact(line, spec_secrets(spec)))


def ca_bundle(spec: SourceSpec) -> str | None:
    """The source's CA bundle path (``~`` expanded), checked to be readable."""
    if not spec.ca_bundle:
        return None
    path = os.path.expanduser(spec.ca_bundle)
    if not os.path.isfile(path):
        raise SourceError(f"ca_bundle {spec.ca_bundle}: no such file")
    return path


def name_series(signal: SignalSpec, labelsets: Iterable[Mapping[str, str]]) -> list[str]:
    """A label per series: ``signal.label``'s value; else the one label every series has
    (``sum by (queue)``); else the only label that varies; else ``""`` for a single series.

    Two series with the same name is an error (the check could not tell them apart).
    """
    sets = [dict(ls) for ls in labelsets]
    only = {tuple(k for k in ls if k != "__name__") for ls in sets}
    if signal.label:
        key: str | None = signal.label
    elif len(only) == 1 and len(next(iter(only))) == 1:
        key = next(iter(only))[0]  # `sum by (queue)`: named by queue even when one series is left
    elif len(sets) <= 1:
        key = None
    else:
        keys = sorted({k for ls in sets for k in ls})
        varying = [k for k in keys if len({ls.get(k) for ls in sets}) > 1]
        if len(varying) != 1:
            raise SourceError(
                f"{len(sets)} series with labels varying in {varying or 'nothing'}: "
                f"set `label` on signal {signal.id!r} to name each series"
            )
        key = varying[0]
    names = [ls.get(key, "") if key else "" for ls in sets]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise SourceError(
                f"two series named {n!r} by label {key!r}: aggregate them in the query "
                f"(e.g. `sum by ({key})`) or set `label`"
            )
        seen.add(n)
    return names


def make_sampler(spec: SourceSpec, profile: Profile, command_sampler: Any = None) -> Sampler:
    """The sampler of ``spec.kind``, made by its registered kind (`cockpit.kinds`).

    ``command_sampler``: the app's `Runner` for the kinds that run commands on hosts (ssh).
    An unknown kind raises `cockpit.kinds.KindError` naming the known ones.
    """
    from cockpit.kinds import source_kind

    return source_kind(spec.kind).sampler(spec, profile, command_sampler)
