"""No full garbage collection in the middle of a step: it would walk every open connection.

A driver holding 1,000 connections tracks about 130,000 long-lived objects (asyncssh's
connections, the pool, the app's widgets). A step fanned out over those connections
allocates enough that the interpreter starts a full collection during it, and a full
collection walks every one of those objects in one pause of the event loop: measured
at 1,000 hosts, 0.2-0.5 s of the client's CPU per fan-out, while the screen froze and
the sshds waited for their next packet (``tests/bench/fanout_cpu.py``, its ``gc`` column).

While any step runs, :func:`full_collections_deferred` raises the oldest generation's
threshold out of reach, so only the young generations are collected, and the youngest's
from Python's 700 allocations to `YOUNG` (50,000), so that a fan-out's objects, which live
for the length of a command, are mostly gone before a collection would promote them to the
old generation (which is what brings the next full collection on). What a step allocates
and drops is still freed as it goes. When the last step running ends, the thresholds are
put back and a full collection, if one is due, happens at its next turn, with the step
over. Steps running at once share one deferral (a count), undone however a step ends.
The cost: objects that were old and became unreachable in a cycle while a step ran wait for
it to end (a step that runs for an hour holds them an hour).
Measured at 1,000 hosts (``fanout_cpu.py --hosts 1000 --repeat 7``): bare asyncssh's
fan-out spent 0.39 s in collections, the longest 203 ms; cockpit's step 0.03 s, 29 ms.

``gc.freeze()`` was tried and was worse: a full collection while frozen leaves the
interpreter believing the old generation is small, so the next one, after the unfreeze,
comes sooner and walks everything.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

NEVER = 2**31 - 1   # a threshold the oldest generation's count does not reach
YOUNG = 50_000      # allocations between young collections while a step runs (Python's default: 700)


class _Deferral:
    running = 0                          # steps inside the block: the deferral holds while above 0
    saved: tuple[int, ...] = ()          # the thresholds to put back: read when the first step starts


_state = _Deferral()


@contextlib.contextmanager
def full_collections_deferred() -> Iterator[None]:
    """No full collection until the block ends (see the module doc)."""
    if _state.running == 0:
        _state.saved = gc.get_threshold()
        gc.set_threshold(max(YOUNG, _state.saved[0]), _state.saved[1], NEVER)
    _state.running += 1
    try:
        yield
    finally:
        _state.running -= 1
        if _state.running == 0:
            gc.set_threshold(*_state.saved)
