"""``kind = "ssh"``: a command run on a host group over SSH, by `cockpit.runner` (parallel, serial,
once, in batches); the default kind."""

from __future__ import annotations

from cockpit.kinds import StepKind, register_step_kind

register_step_kind(StepKind(
    name="ssh", article="an", runs_on="hosts", takes_command=True, batchable=True,
    doc="A command run on the step's host group over SSH (`run`: parallel, serial or once; `batch`: in "
        "batches); `preview` and `verify` are commands on the same hosts.",
))
