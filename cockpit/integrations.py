"""Profile rules of ``[grafana]`` (the kinds' own rules are in cockpit/kinds/step_silence.py,
step_annotate.py and source_alertmanager.py), applied by `cockpit.profile.rules.Rules.run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cockpit.profile.model import GrafanaSettings, StepSpec
from cockpit.secrets import env_refs

if TYPE_CHECKING:
    from cockpit.profile.rules import Rules


def check(rules: Rules) -> None:
    g: GrafanaSettings | None = rules.parts.get("grafana")
    if g is None:
        return
    steps: tuple[StepSpec, ...] = rules.parts.get("steps") or ()
    step_ids = [s.id for s in steps]
    if (g.annotate_rollback or g.annotate_steps) and (not g.url or not g.token):
        rules.rep.error(("grafana",), "Grafana annotations need [grafana] url and token (a service-account token)")
    for i, sid in enumerate(g.annotate_steps):
        rules.ref(("grafana", "annotate_steps", i), "step", sid, step_ids)
    if g.token and not env_refs(g.token):
        rules.rep.warning(("grafana", "token"), "holds a literal secret: use ${env:NAME} so it stays out of the file")
    if g.url and not g.url.startswith(("http://", "https://", "${env:")):
        rules.rep.error(("grafana", "url"), "url must start with http:// or https://")
