"""Scripts: what a simulated command does, as a generator of output lines and waits.

A script yields :class:`Out` (one line of output), :class:`Wait` (simulated
seconds pass) and :class:`Ask` (a question on the terminal; the player sends back
the line typed, ``None`` at end of input, ``""`` when the run is not
interactive, as Symfony answers with the default then) and returns its exit status. Players: the SSH server (real time,
``Wait`` divided by the speed) and :func:`play` (no waiting: for tests and for
driving the simulation on a fake clock).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass


@dataclass(frozen=True)
class Out:
    text: str
    stderr: bool = False


@dataclass(frozen=True)
class Wait:
    seconds: float  # simulated


@dataclass(frozen=True)
class Ask:
    prompt: str


Action = Out | Wait | Ask
Script = Generator[Action, str | None, int]


def play(script: Script, on_wait: Callable[[float], None] | None = None) -> tuple[int, list[Out]]:
    """Run ``script`` to the end without real waiting; ``on_wait(sim_seconds)`` may move a fake clock."""
    lines: list[Out] = []
    try:
        action = next(script)
        while True:
            answer: str | None = None
            if isinstance(action, Out):
                lines.append(action)
            elif isinstance(action, Ask):
                answer = ""  # not interactive: the default answer
            elif on_wait is not None:
                on_wait(action.seconds)
            action = script.send(answer)
    except StopIteration as stop:
        return int(stop.value or 0), lines
