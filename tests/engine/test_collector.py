"""``cockpit.collector``: no full garbage collection while a step runs, the thresholds back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cockpit.collector import NEVER, YOUNG, full_collections_deferred


@pytest.fixture(autouse=True)
def eager_collector() -> Iterator[tuple[int, int, int]]:
    """A collector that runs a full collection after very few allocations; put back after."""
    saved = gc.get_threshold()
    gc.set_threshold(10, 2, 2)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def full_collections_while(make: int) -> int:
    """How many full (oldest-generation) collections the interpreter ran while ``make`` objects
    that live a while (kept in a list) were made."""
    seen: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(count)
    try:
        kept = [[i] for i in range(make)]
        assert len(kept) == make
    finally:
        gc.callbacks.remove(count)
    return len(seen)


def test_inside_the_block_no_full_collection_runs_and_outside_they_do() -> None:
    assert full_collections_while(50_000) > 0   # the same work outside: the eager collector runs them
    with full_collections_deferred():
        assert full_collections_while(50_000) == 0


def test_the_thresholds_are_put_back_however_the_block_ends(eager_collector: tuple[int, int, int]) -> None:
    with full_collections_deferred():
        assert gc.get_threshold() == (YOUNG, 2, NEVER)
    assert gc.get_threshold() == eager_collector
    with pytest.raises(RuntimeError), full_collections_deferred():
        raise RuntimeError("a step that failed")
    assert gc.get_threshold() == eager_collector


def test_steps_at_once_share_one_deferral_until_the_last_ends(eager_collector: tuple[int, int, int]) -> None:
    first, second = full_collections_deferred(), full_collections_deferred()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[2] == NEVER   # the second step still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == eager_collector


def test_a_young_threshold_already_higher_is_kept() -> None:
    gc.set_threshold(YOUNG * 2, 10, 10)
    with full_collections_deferred():
        assert gc.get_threshold() == (YOUNG * 2, 10, NEVER)
    assert gc.get_threshold() == (YOUNG * 2, 10, 10)
