"""SSH source: a command on the first host of a group prints a number, or ``label value`` lines.

Commands run through a `CommandSampler` (``async sample(host, command,
timeout) -> str``): the `cockpit.runner.Runner`, the one place that executes
remote commands (host keys verified by its `SshPool`). The app passes its
runner; without one (``cockpit status``) the source owns a runner on its own
pool and closes it with the source.
"""

from __future__ import annotations

from typing import Protocol

from cockpit.durations import format_duration
from cockpit.profile.model import Profile, SignalSpec, SourceSpec
from cockpit.sources.base import Points, SourceError, Values, shorten, to_float


class CommandSampler(Protocol):
    async def sample(self, host: str, command: str, timeout: float) -> str: ...


def parse_output(text: str) -> Values:
    """A single number (label ``""``), or ``label value`` lines (one series per label)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]

    def bad() -> SourceError:
        return SourceError(f"could not read a number from output: {shorten(text.strip(), 40)}")

    if not lines:
        raise bad()
    if len(lines) == 1 and len(lines[0].split()) == 1:
        try:
            return {"": to_float(lines[0])}
        except ValueError:
            raise bad() from None
    out: Values = {}
    for ln in lines:
        parts = ln.rsplit(None, 1)
        if len(parts) != 2:
            raise bad()
        label, value = parts[0].strip(), parts[1]
        try:
            number = to_float(value)
        except ValueError:
            raise bad() from None
        if label in out:
            raise SourceError(f"label {label!r} appears twice in the output")
        out[label] = number
    return out


class SshSampler:
    """One per ``kind = "ssh"`` source."""

    def __init__(self, spec: SourceSpec, profile: Profile, runner: CommandSampler) -> None:
        self.spec = spec
        self.profile = profile
        self.runner = runner

    def host(self) -> str:
        group = self.spec.hosts or ""
        hosts = self.profile.hosts.get(group, ())
        if not hosts:
            raise SourceError(f"host group {group!r} is empty or undefined")
        return hosts[0]

    async def sample(self, signal: SignalSpec) -> Values:
        host = self.host()
        command = self.profile.expand(signal.command or "")
        try:
            out = await self.runner.sample(host, command, self.spec.timeout)
        except SourceError:
            raise
        except TimeoutError:
            raise SourceError(f"timeout after {format_duration(self.spec.timeout)}") from None
        except Exception as e:  # the runner's errors are already worded for people ("host: reason")
            text = str(e) or type(e).__name__
            raise SourceError(text if text.startswith(f"{host}:") else f"{host}: {text}") from None
        return parse_output(out)

    async def backfill(self, signal: SignalSpec, now: float) -> Points:
        return {}

    async def close(self) -> None:
        if isinstance(self.runner, OwnedRunner):
            await self.runner.close()


class OwnedRunner:
    """A `Runner` on its own `SshPool`, for when no app-wide runner is given (``cockpit status``)."""

    def __init__(self, profile: Profile) -> None:
        from cockpit.runner import Runner
        from cockpit.ssh.pool import SshPool

        self._pool = SshPool(profile)
        self._runner = Runner(profile, self._pool)

    async def sample(self, host: str, command: str, timeout: float) -> str:
        return await self._runner.sample(host, command, timeout)

    async def close(self) -> None:
        await self._pool.close()
