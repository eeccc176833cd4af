"""``{placeholder}`` rendering of messages, with a clear failure for unknown names.

Only plain names are allowed (``{driver}``), never attribute or index access
(``{x.__class__}``), so a template cannot reach beyond the values it is given.
``{{`` and ``}}`` stand for literal braces.
"""

from __future__ import annotations

import datetime as dt
import string
import time
from collections.abc import Callable, Mapping

from cockpit.steps.base import StepFailure
from cockpit.steps.context import IncidentFacts

_FORMATTER = string.Formatter()


def render(
    template: str,
    values: Mapping[str, str],
    *,
    where: str,
    escape: Callable[[str], str] | None = None,
) -> str:
    """Substitute ``{name}`` from ``values``; ``where`` names the template in error messages.

    ``escape`` is applied to substituted values only (e.g. Slack's ``&<>``), not to
    the template's own text, so a profile can still write mrkdwn.
    """
    out: list[str] = []
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise StepFailure(f"{where}: bad template ({exc}); write {{{{ and }}}} for literal braces") from None
    unknown: list[str] = []
    for literal, name, spec, conv in parts:
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier():
            raise StepFailure(
                f"{where}: placeholder {{{name}}} is not a plain name; "
                f"write {{{{ and }}}} for literal braces"
            )
        if name not in values:
            unknown.append(name)
            continue
        value = values[name]
        if conv or spec:
            raise StepFailure(f"{where}: placeholder {{{name}}} may not have a format spec or conversion")
        out.append(escape(value) if escape else value)
    if unknown:
        names = ", ".join(f"{{{n}}}" for n in dict.fromkeys(unknown))
        known = ", ".join(f"{{{k}}}" for k in sorted(values))
        raise StepFailure(f"{where}: unknown placeholder {names}; known placeholders: {known}")
    return "".join(out)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def incident_window(facts: IncidentFacts, now: float | None = None) -> tuple[float, float]:
    """The incident window: rollback start (or one RTO ago) to rollback end (or now)."""
    now = time.time() if now is None else now
    end = facts.rollback_ended if facts.rollback_ended is not None else now
    start = facts.rollback_started if facts.rollback_started is not None else end - facts.rto_budget
    return start, end


def placeholders(facts: IncidentFacts, now: float | None = None) -> dict[str, str]:
    """The incident facts plus the window: ``{from}``/``{to}`` in epoch ms (Grafana, Datadog),
    ``{from_iso}``/``{to_iso}`` in ISO 8601 UTC, ``{from_s}``/``{to_s}`` in epoch seconds."""
    start, end = incident_window(facts, now)
    values = dict(facts.placeholders())
    values.update(
        {
            "from": str(int(start * 1000)),
            "to": str(int(end * 1000)),
            "from_iso": _iso(start),
            "to_iso": _iso(end),
            "from_s": str(int(start)),
            "to_s": str(int(end)),
        }
    )
    return values
