"""SeriesStore: bounded buffers, versions, failure and overdue staleness."""

from __future__ import annotations

import math

from cockpit.series import MAX_LABELS, SeriesStore
from tests.sources import build

T0 = 1_800_000_000.0


def store(history: int = 5, interval: float = 1.0, timeout: float = 0.5) -> SeriesStore:
    p = build.profile(
        [build.source("s", "http", url="http://127.0.0.1:1/", interval=interval, timeout=timeout)],
        [build.signal("sig", "s", history=history)],
    )
    return SeriesStore(p, now=T0)


def test_ring_buffers_are_bounded_and_version_increments():
    st = store(history=5)
    v0 = st.version
    for i in range(1000):
        st.record("sig", {"feed": float(i), "notifications": 1.0}, T0 + i)
    view = st.view("sig", T0 + 1000)
    assert len(view.series["feed"]) == 5
    assert view.series["feed"][-1] == (T0 + 999, 999.0) and view.series["feed"][0] == (T0 + 995, 995.0)
    assert st.version == v0 + 1000 and view.seq == 1000
    assert view.latest() == {"feed": 999.0, "notifications": 1.0}


def test_label_count_is_bounded():
    st = store(history=3)
    for i in range(MAX_LABELS * 3):
        st.record("sig", {f"l{i}": 1.0}, T0 + i)
    assert len(st.view("sig", T0 + MAX_LABELS * 3).series) == MAX_LABELS
    assert st.view("sig", T0 + MAX_LABELS * 3).latest() == {f"l{MAX_LABELS * 3 - 1}": 1.0}


def test_failure_marks_stale_until_the_next_sample():
    st = store()
    st.record("sig", {"": 1.0}, T0)
    st.fail("sig", T0 + 1, "timeout after 0.5s")
    st.fail("sig", T0 + 2, "connection refused")
    v = st.view("sig", T0 + 2)
    assert v.stale_since == T0 + 1 and v.stale_reason == "connection refused"
    st.record("sig", {"": math.nan}, T0 + 3)
    v = st.view("sig", T0 + 3)
    assert v.stale_since is None and math.isnan(v.latest()[""]) and v.last_error == "connection refused"


def test_overdue_source_counts_as_stale():
    st = store(interval=1.0, timeout=0.5)  # overdue after 2 * 1 + 0.5 s
    st.record("sig", {"": 1.0}, T0)
    assert st.view("sig", T0 + 2.4).stale_since is None
    v = st.view("sig", T0 + 2.6)
    assert v.stale_since == T0 + 2.5 and v.stale_reason is not None
    assert v.stale_reason.startswith("no answer since ")
    never = store()
    assert never.view("sig", T0 + 3).stale_reason.startswith("no answer since start")  # type: ignore[union-attr]
