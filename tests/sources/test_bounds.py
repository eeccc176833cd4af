"""Both HTTP-based source kinds against a hostile server: every answer is bounded in bytes and time.

An endless, huge or trickling answer gives a clear reason ("answer over 4 MB",
"no full answer within 1s") within the source's timeout, without growing memory;
a status or latency probe never reads the body; closing a source with a request
in flight leaves no thread behind.
"""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from collections.abc import Iterator

import pytest

from cockpit.profile.model import SignalSpec
from cockpit.sources.base import Sampler, SourceError, Values, make_sampler
from tests.sources import build
from tests.support.hostile import Hostile, running_hostile

KINDS = ["prometheus", "http"]
GRACE = 1.0  # seconds allowed beyond the timeout (scheduling on a loaded 2-core machine)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with running_hostile() as srv:
        yield srv


def sampler(kind: str, url: str, **kw: object) -> tuple[Sampler, SignalSpec]:
    spec = build.source("s", kind, url=url, **kw)
    sig = (build.signal("x", "s", query="up") if kind == "prometheus"
           else build.signal("x", "s", field_="json:data.result.0.value.1"))
    return make_sampler(spec, build.profile([spec], [sig])), sig


async def outcome(kind: str, url: str, wait: float = 10.0, **kw: object) -> tuple[Values | str, float]:
    """The sample's values or its failure reason, and how long it took ("STILL RUNNING" after ``wait``)."""
    s, sig = sampler(kind, url, **kw)
    t = time.monotonic()
    try:
        try:
            got: Values | str = await asyncio.wait_for(s.sample(sig), wait)
        except SourceError as e:
            got = str(e)
        except TimeoutError:
            got = "STILL RUNNING"
        return got, time.monotonic() - t
    finally:
        await s.close()


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.parametrize("kind", KINDS)
async def test_a_good_answer_still_reads(kind: str, hostile: Hostile):
    got, _ = await outcome(kind, hostile.url(), timeout=2.0)
    assert got == {"": 7.0}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["endless", "huge", "huge_declared"])
async def test_endless_or_huge_answer_stops_at_the_cap(kind: str, mode: str, hostile: Hostile):
    hostile.set(mode)
    before = peak_kib()
    got, took = await outcome(kind, hostile.url(), timeout=5.0)  # generous: 4 MB must be read in it
    assert got == "answer over 4 MB"
    assert took < 5.0 + GRACE
    assert peak_kib() - before < 64 * 1024  # the process's peak RSS grew by less than 64 MB


@pytest.mark.parametrize("kind", KINDS)
async def test_cap_is_set_per_source(kind: str, hostile: Hostile):
    got, _ = await outcome(kind, hostile.url(), timeout=2.0, max_bytes=50)
    assert got == "answer over 50 bytes"


@pytest.mark.parametrize("kind", KINDS)
async def test_trickling_answer_ends_at_the_total_deadline(kind: str, hostile: Hostile):
    hostile.set("trickle", trickle_every=0.2)  # well inside any per-read timeout: only a total one stops it
    got, took = await outcome(kind, hostile.url(), timeout=1.0)
    assert isinstance(got, str) and got.startswith("no full answer within 1s ("), got
    assert took < 1.0 + GRACE


@pytest.mark.parametrize("kind", KINDS)
async def test_hang_before_headers(kind: str, hostile: Hostile):
    hostile.set("hang")
    got, took = await outcome(kind, hostile.url(), timeout=1.0)
    assert got == "no answer within 1s"
    assert took < 1.0 + GRACE


@pytest.mark.parametrize("kind", KINDS)
async def test_garbage_and_dropped_connection(kind: str, hostile: Hostile):
    hostile.set("garbage")
    got, _ = await outcome(kind, hostile.url(), timeout=2.0)
    want = "answer is not JSON (is `url` a Prometheus server?)" if kind == "prometheus" else "body is not JSON"
    assert isinstance(got, str) and got.startswith(want), got
    hostile.set("drop")
    got, _ = await outcome(kind, hostile.url(), timeout=2.0)
    assert got == "connection dropped by the server"


@pytest.mark.parametrize("field", ["status", "latency"])
@pytest.mark.parametrize("mode", ["endless", "trickle"])
async def test_status_and_latency_probes_never_read_the_body(field: str, mode: str, hostile: Hostile):
    hostile.set(mode)
    spec = build.source("s", "http", url=hostile.url(), timeout=5.0)
    sig = build.signal("x", "s", field_=field)
    s = make_sampler(spec, build.profile([spec], [sig]))
    try:
        t = time.monotonic()
        got = await asyncio.wait_for(s.sample(sig), 10.0)
        took = time.monotonic() - t
    finally:
        await s.close()
    assert list(got) == [""]
    assert (got[""] == 200.0) if field == "status" else (0.0 <= got[""] < 1.0)
    assert took < 2.0  # well inside the 5 s timeout: the body (endless, or 1 byte a second) was not waited for
    if mode == "endless":
        hostile.wait_client_gone()  # and the connection was closed, not drained


async def test_closing_a_prometheus_source_mid_request_leaves_no_thread(hostile: Hostile):
    hostile.set("hang")
    s, sig = sampler("prometheus", hostile.url(), timeout=30.0)
    task = asyncio.ensure_future(s.sample(sig))
    await asyncio.get_running_loop().run_in_executor(None, hostile.wait_requests, 1)
    t = time.monotonic()
    await asyncio.wait_for(s.close(), 2.0)
    with pytest.raises(SourceError, match="source closed"):
        await asyncio.wait_for(task, 2.0)
    assert time.monotonic() - t < 1.0
    # no thread of this source is left running, and none would be joined at exit
    end = time.monotonic() + 2.0
    while [t for t in threading.enumerate() if t.name.startswith("prom-s")] and time.monotonic() < end:
        await asyncio.sleep(0.02)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("prom-s")]


@pytest.mark.parametrize(("value", "expected"), [
    ("0", ['p.toml:16: sources.prom.max_bytes: must be 1 or more (a size in bytes, e.g. 4194304 for 4 MB)']),
    ('"4MB"', ['p.toml:16: sources.prom.max_bytes: expected an integer, got "4MB"']),
    ("1048576", []),
])
def test_max_bytes_in_a_profile(value: str, expected: list[str]):
    from cockpit.profile.load import parse_profile
    from tests.profile.cases import BASE

    text = BASE.replace('url = "http://127.0.0.1:9090"\n', f'url = "http://127.0.0.1:9090"\nmax_bytes = {value}\n')
    profile, problems = parse_profile(text.encode(), "/x/p.toml", environ={})
    assert [p.format("p.toml") for p in problems] == expected
    if not expected:
        assert profile is not None and profile.sources["prom"].max_bytes == 1048576
