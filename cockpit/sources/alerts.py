"""``kind = "alertmanager"`` source: the active alerts, what pages and what a silence covers.

Each sample asks Alertmanager API v2 twice, concurrently:
``GET /api/v2/alerts?active=true&silenced=false&inhibited=false&filter=…`` (what still
pages) and the same with ``silenced=true&inhibited=true`` (everything active, silenced
and inhibited included). Each active alert is a series named by its ``alertname`` (and
the labels that tell two alerts of that name apart), valued 1 when it pages and 0 when a
silence or an inhibition covers it. No active alert at all is an empty answer (the
panel says "nothing firing"). A check ``condition = "< 1"`` on the signal means
"nothing pages".

Bounds as for every HTTP source: the source's ``timeout`` is the total time of each
request (`cockpit.bounded.fetch` via the HTTP steps' policy), ``max_bytes`` is not
exceeded by Alertmanager's answers in practice (the steps' cap of 4 MB applies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cockpit import alertmanager
from cockpit.profile.model import SignalSpec, SourceSpec
from cockpit.sources.base import Points, SourceError, Values


def series_names(alerts: Sequence[alertmanager.Alert]) -> list[str]:
    """``alertname``, plus the labels that vary between alerts of the same name (``k=v``, sorted)."""
    by_name: dict[str, list[alertmanager.Alert]] = {}
    for a in alerts:
        by_name.setdefault(a.labels.get("alertname", "(no alertname)"), []).append(a)
    names: list[str] = []
    for a in alerts:
        name = a.labels.get("alertname", "(no alertname)")
        group = by_name[name]
        keys = sorted({k for g in group for k in g.labels} - {"alertname"})
        varying = [k for k in keys if len({g.labels.get(k) for g in group}) > 1]
        extra = " ".join(f"{k}={a.labels.get(k, '')}" for k in varying)
        names.append(f"{name} {extra}".strip())
    return names


def values_of(paging: Sequence[alertmanager.Alert], everything: Sequence[alertmanager.Alert]) -> Values:
    """label -> 1 (pages) or 0 (silenced/inhibited)."""
    def key(a: alertmanager.Alert) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(a.labels.items()))

    loud = {key(a) for a in paging}
    seen: dict[tuple[tuple[str, str], ...], alertmanager.Alert] = {key(a): a for a in everything}
    for a in paging:
        seen.setdefault(key(a), a)
    alerts = list(seen.values())
    out: Values = {}
    for name, a in zip(series_names(alerts), alerts, strict=True):
        value = 1.0 if key(a) in loud else 0.0
        out[name] = max(out.get(name, 0.0), value)
    return out


class AlertsSampler:
    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    async def sample(self, signal: SignalSpec) -> Values:
        try:
            client = alertmanager.Client(self.spec.url or "", headers=self.spec.headers, timeout=self.spec.timeout)
            paging, everything = await asyncio.gather(
                client.alerts(signal.filter, silenced=False, inhibited=False),
                client.alerts(signal.filter, silenced=True, inhibited=True))
        except alertmanager.AlertmanagerError as exc:
            raise SourceError(" ".join(str(exc).split())) from None
        return values_of(paging, everything)

    async def backfill(self, signal: SignalSpec, now: float) -> Points:
        return {}

    async def close(self) -> None:
        return None
