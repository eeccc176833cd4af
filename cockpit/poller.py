"""Polls every source on its own interval, concurrently, each sample bounded by its timeout.

One asyncio task per source; the signals of a source are sampled concurrently
too. Ticks are at a fixed rate (start + k * interval): a slow round skips the
ticks it overran instead of bunching up. A hanging source only delays itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable

from cockpit.durations import format_duration
from cockpit.profile.model import Profile, SignalSpec, SourceSpec
from cockpit.series import SeriesStore
from cockpit.sources.base import Sampler, SourceError, make_sampler
from cockpit.sources.ssh import CommandSampler

log = logging.getLogger(__name__)

BACKSTOP = 1.0  # seconds granted beyond a source's timeout before its sample is abandoned
CLOSE_WITHIN = 2.0  # seconds granted to each source to close its clients at stop


def interval_of(profile: Profile, spec: SourceSpec) -> float:
    return spec.interval or profile.cockpit.refresh


class Poller:
    def __init__(
        self,
        profile: Profile,
        store: SeriesStore,
        command_sampler: CommandSampler | None = None,
        on_update: Callable[[str], None] | None = None,
    ) -> None:
        self.profile = profile
        self.store = store
        self.on_update = on_update
        self._command_sampler = command_sampler
        self._samplers: dict[str, Sampler] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._by_source: dict[str, list[SignalSpec]] = {}
        for sig in profile.signals:
            self._by_source.setdefault(sig.source, []).append(sig)

    def _sampler(self, source_id: str) -> Sampler:
        s = self._samplers.get(source_id)
        if s is None:
            spec = self.profile.sources[source_id]
            s = make_sampler(spec, self.profile, self._command_sampler)
            self._samplers[source_id] = s
        return s

    def _notify(self, signal_id: str) -> None:
        if self.on_update is not None:
            try:
                self.on_update(signal_id)
            except Exception:  # a broken listener must not stop the polling
                log.exception("on_update listener failed for %s", signal_id)

    async def _sample(self, sig: SignalSpec) -> None:
        """Sample one signal and record the value or the failure; never raises."""
        spec = self.profile.sources.get(sig.source)
        if spec is None:
            self.store.fail(sig.id, time.time(), f"unknown source {sig.source!r}")
            self._notify(sig.id)
            return
        try:
            values = await asyncio.wait_for(self._sampler(sig.source).sample(sig), spec.timeout + BACKSTOP)
        except TimeoutError:
            self.store.fail(sig.id, time.time(), f"no answer within {format_duration(spec.timeout)}")
        except SourceError as e:
            self.store.fail(sig.id, time.time(), str(e) or "failed")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in a sampler must not stop the polling of the others
            self.store.fail(sig.id, time.time(), f"internal error: {type(e).__name__}")
        else:
            self.store.record(sig.id, values, time.time())
        self._notify(sig.id)

    async def _backfill(self, sig: SignalSpec) -> None:
        spec = self.profile.sources[sig.source]
        try:
            points = await asyncio.wait_for(
                self._sampler(sig.source).backfill(sig, time.time()), spec.timeout + BACKSTOP
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            return  # the first live sample reports the problem
        if points:
            self.store.backfill(sig.id, points)
            self._notify(sig.id)

    async def _run_source(self, source_id: str, signals: list[SignalSpec]) -> None:
        spec = self.profile.sources[source_id]
        interval = interval_of(self.profile, spec)
        await asyncio.gather(*(self._backfill(s) for s in signals))
        start = time.monotonic()
        tick = 0
        while True:
            await asyncio.gather(*(self._sample(s) for s in signals))
            elapsed = time.monotonic() - start
            tick = max(tick + 1, math.floor(elapsed / interval) + 1)
            await asyncio.sleep(max(0.0, start + tick * interval - time.monotonic()))

    async def start(self) -> None:
        """Start one polling task per source (each backfills first, then loops)."""
        if self._tasks:
            return
        for source_id, signals in self._by_source.items():
            if source_id not in self.profile.sources:
                for sig in signals:
                    self.store.fail(sig.id, time.time(), f"unknown source {source_id!r}")
                continue
            task = asyncio.create_task(self._run_source(source_id, signals), name=f"poll:{source_id}")
            self._tasks.append(task)

    async def sample_once(self, signal_ids: Iterable[str] | None = None) -> None:
        """Sample every signal (or those named) once, concurrently, each bounded by its timeout."""
        wanted = set(signal_ids) if signal_ids is not None else None
        await asyncio.gather(
            *(self._sample(s) for s in self.profile.signals if wanted is None or s.id in wanted)
        )

    async def stop(self) -> None:
        """Cancel the polling tasks and close every source's client, without waiting on any
        request in flight: no source holds a worker that the exit would have to join."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        samplers, self._samplers = list(self._samplers.values()), {}
        for s in samplers:  # bounded: a source that cannot close must not hold up the exit
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.close(), CLOSE_WITHIN)
