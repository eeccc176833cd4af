"""What every non-ssh executor shares: the failure type, secret scrubbing, result building."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from cockpit import secrets
from cockpit.results import HostResult, StepResult, StepState
from cockpit.steps.context import StepContext


class StepFailure(Exception):
    """An expected failure with a message fit for the operator (never holds a secret)."""

    def __init__(self, reason: str, detail: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or {}


def spec_secrets(spec: object, extra: Iterable[str] = ()) -> list[str]:
    """Values to hide for ``spec``: every field marked ``secret`` (resolved if it can be) and ``extra``.

    A secret written literally in the profile (not as ``${env:…}``) is hidden too.
    """
    raw: list[str] = []
    if is_dataclass(spec):
        for f in fields(spec):
            value = getattr(spec, f.name)
            if f.metadata.get("secret") and isinstance(value, str):
                raw.append(value)
    out = secrets.secret_values(raw)
    for text in raw:
        try:
            resolved = secrets.resolve(text)
        except secrets.SecretError:
            continue
        if len(resolved) >= 4 and resolved not in out:
            out.append(resolved)
    out.extend(v for v in extra if len(v) >= 4)
    return out


@dataclass
class Scrubber:
    """Redacts the spec's secrets, then whatever the context redacts (its own secrets, tokens)."""

    ctx: StepContext
    values: list[str]

    def __call__(self, text: str) -> str:
        return self.ctx.redact(secrets.redact(text, self.values))

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:  # like secrets.secret_values: shorter would mangle every text
            self.values.append(value)

    def deep(self, obj: Any) -> Any:
        """Redact every string inside dicts, lists and tuples (for StepResult.detail)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(str(k)): self.deep(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.deep(v) for v in obj]
        return obj


def profile_dir(ctx: StepContext) -> Path:
    """The directory relative paths in a profile are resolved against."""
    return Path(ctx.profile.path).expanduser().resolve().parent


def relative_to_profile(ctx: StepContext, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else profile_dir(ctx) / p


def read_template(ctx: StepContext, path: str) -> str:
    """Read a template file named in the profile, with a clear message when it cannot be read."""
    p = relative_to_profile(ctx, path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StepFailure(f"template {path} not found (looked for {p})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StepFailure(f"template {path} cannot be read: {exc}") from None


def finish(
    step_id: str,
    state: StepState,
    started: float,
    *,
    command: str | None,
    scrub: Callable[[str], str] | Scrubber,
    reason: str | None = None,
    detail: dict[str, object] | None = None,
    hosts: tuple[HostResult, ...] = (),
) -> StepResult:
    """Build the StepResult with every string in reason, command and detail redacted."""
    deep = scrub.deep if isinstance(scrub, Scrubber) else (lambda o: o)
    return StepResult(
        step_id=step_id,
        state=state,
        command=scrub(command) if command is not None else None,
        started=started,
        ended=time.time(),
        hosts=hosts,
        reason=scrub(reason) if reason is not None else None,
        detail=deep(detail or {}),
    )
