"""Profile rules of the Alertmanager and Grafana kinds (`silence`, `annotate`, the alertmanager
source, ``[grafana]``), applied by `cockpit.profile.rules.Rules.run` through one call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cockpit.profile.model import GrafanaSettings, SignalSpec, SourceSpec, StepSpec
from cockpit.secrets import env_refs

if TYPE_CHECKING:
    from cockpit.profile.rules import Rules


def check(rules: Rules) -> None:
    sources: Mapping[str, SourceSpec] = rules.parts.get("sources") or {}
    am_sources = [name for name, src in sources.items() if src.kind == "alertmanager"]
    raw_sources = rules.raw.get("sources") if isinstance(rules.raw.get("sources"), dict) else {}
    assert isinstance(raw_sources, dict)
    am_raw = [n for n, t in raw_sources.items() if isinstance(t, dict) and t.get("kind") == "alertmanager"]
    signals: tuple[SignalSpec, ...] = rules.parts.get("signals") or ()
    for sig in signals:
        path = rules.conv.path_of(sig)
        src = sources.get(sig.source)
        if src is None:
            continue
        if src.kind != "alertmanager" and sig.filter:
            rules.rep.error((*path, "filter"), f'"filter" is only for alertmanager sources ("{sig.source}" is {src.kind})')
        if src.kind == "alertmanager" and sig.view != "alerts":
            rules.rep.warning((*path, "view"), 'an alertmanager signal is best drawn with view = "alerts"')
        if sig.view == "alerts" and src.kind != "alertmanager":
            rules.rep.error((*path, "view"), f'view = "alerts" needs an alertmanager source ("{sig.source}" is {src.kind})')
        for i, text in enumerate(sig.filter):
            _matcher((*path, "filter", i), text, rules)
    steps: tuple[StepSpec, ...] = rules.parts.get("steps") or ()
    step_ids = [s.id for s in steps]
    for step in steps:
        path = rules.conv.path_of(step)
        if step.silence is not None:
            spec = step.silence
            rules.ref((*path, "silence", "source"), "alertmanager source", spec.source, am_raw or am_sources)
            if not spec.matchers:
                rules.rep.error((*path, "silence", "matchers"), "a silence needs at least one matcher")
            for i, text in enumerate(spec.matchers):
                _matcher((*path, "silence", "matchers", i), text, rules)
            if spec.margin >= spec.duration:
                rules.rep.error((*path, "silence", "margin"), "margin must be shorter than duration "
                                "(the silence is extended when less than margin is left)")
        if step.kind == "annotate":
            _needs_grafana(rules, (*path, "annotate"), rules.parts.get("grafana"))
    g: GrafanaSettings | None = rules.parts.get("grafana")
    if g is not None:
        if g.annotate_rollback or g.annotate_steps:
            _needs_grafana(rules, ("grafana",), g)
        for i, sid in enumerate(g.annotate_steps):
            rules.ref(("grafana", "annotate_steps", i), "step", sid, step_ids)
        if g.token and not env_refs(g.token):
            rules.rep.warning(("grafana", "token"), "holds a literal secret: use ${env:NAME} so it stays out of the file")
        if g.url and not g.url.startswith(("http://", "https://", "${env:")):
            rules.rep.error(("grafana", "url"), "url must start with http:// or https://")


def _needs_grafana(rules: Rules, path: Any, g: GrafanaSettings | None) -> None:
    if g is None or not g.url or not g.token:
        rules.rep.error(path, "Grafana annotations need [grafana] url and token (a service-account token)")


def _matcher(path: Any, text: str, rules: Rules) -> None:
    from cockpit.alertmanager import parse_matcher

    try:
        parse_matcher(text)
    except ValueError as exc:
        rules.rep.error(path, str(exc))
