"""The driver's feed: bounded whatever the incident's length; the mirror replays new samples and lines only."""

from __future__ import annotations

import json

from cockpit.profile.load import load_profile
from cockpit.published import FEED_LINES, FEED_POINTS, FeedMirror, FeedReader, FeedWriter
from cockpit.results import OutputLine
from cockpit.series import SeriesStore
from cockpit.state import state_for

SIGNAL = """
[sources.blue]
kind = "http"
url = "http://127.0.0.1:9/healthz"
interval = "1s"

[[signal]]
id = "healthz"
source = "blue"
field = "status"
"""


def test_feed_is_bounded_and_mirrored(make_profile) -> None:
    profile = make_profile(extra=SIGNAL)
    profile = load_profile(profile.path)
    state = state_for(profile)
    store = SeriesStore(profile, now=0.0)
    writer = FeedWriter(profile, state, store, redact=lambda t: t.replace("s3cret", "***"), now=lambda: 20_000.0)
    for i in range(10_000):
        store.record("healthz", {"": 200.0 if i % 2 else 503.0}, 10_000.0 + i)
        writer.output(OutputLine("slow", "web-1", "stdout", f"line {i} s3cret " + "x" * 2000, 10_000.0 + i))
    writer.publish(force=True)
    raw = writer.path.read_bytes()
    assert len(raw) < 200_000, len(raw)
    snap = json.loads(raw)
    assert len(snap["lines"]) == FEED_LINES and len(snap["signals"]["healthz"]["series"][""]) == FEED_POINTS
    assert all("s3cret" not in line[5] and len(line[5]) <= 500 for line in snap["lines"])

    mirror_store = SeriesStore(profile, now=0.0)
    mirror = FeedMirror(mirror_store)
    reader = FeedReader(state, writer.path)
    changed, lines = mirror.apply(reader.poll() or {})
    assert changed == ["healthz"] and len(lines) == FEED_LINES and lines[-1].text.startswith("line 9999")
    view = mirror_store.view("healthz", now=19_999.5)
    assert view.latest() == {"": 200.0} and view.last_ok == 19_999.0 and not view.stale
    assert reader.poll() is None                       # unchanged: not read again
    changed, lines = mirror.apply(snap)
    assert (changed, lines) == ([], [])                # nothing new twice

    # another driver (a handoff): its own line numbering starts again at 1 and is not dropped
    other = dict(snap, pid=snap["pid"] + 1, lines=[[1, 20_001.0, "next", "web-2", "stdout", "from bob"]])
    _, lines = mirror.apply(other)
    assert [line.text for line in lines] == ["from bob"]
