"""Profiles built directly from the model's dataclasses (no loader involved)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from cockpit.conditions import parse_condition
from cockpit.profile.model import CheckSpec, CockpitSettings, Profile, SignalSpec, SourceSpec, SshSettings


def source(id: str, kind: str, **kw: object) -> SourceSpec:
    if "headers" in kw:
        kw["headers"] = MappingProxyType(dict(kw["headers"]))  # type: ignore[call-overload]
    return SourceSpec(id=id, kind=kind, **kw)  # type: ignore[arg-type]


def signal(id: str, source: str, **kw: object) -> SignalSpec:
    return SignalSpec(id=id, source=source, **kw)  # type: ignore[arg-type]


def check(signal: str, condition: str, id: str | None = None, **kw: object) -> CheckSpec:
    return CheckSpec(id=id or signal, signal=signal, condition=parse_condition(condition), **kw)  # type: ignore[arg-type]


def profile(
    sources: Iterable[SourceSpec],
    signals: Iterable[SignalSpec],
    checks: Iterable[CheckSpec] = (),
    hosts: Mapping[str, tuple[str, ...]] | None = None,
    ssh: SshSettings | None = None,
    refresh: float = 1.0,
) -> Profile:
    return Profile(
        path="/dev/null",
        cockpit=CockpitSettings(name="test", environment="drill", refresh=refresh),
        ssh=ssh or SshSettings(),
        hosts=MappingProxyType(dict(hosts or {})),
        vars=MappingProxyType({}),
        sources=MappingProxyType({s.id: s for s in sources}),
        signals=tuple(signals),
        checks=tuple(checks),
        steps=(),
    )
