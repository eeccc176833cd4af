"""DemoStack starts fast, serves on loopback, and stops leaving nothing behind."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from cockpit.demo.alerts import DemoAlertmanager
from cockpit.demo.http import Request
from cockpit.demo.sim import AcademySim
from cockpit.demo.stack import DemoStack
from cockpit.profile.model import Profile


def _refused(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) != 0


async def test_start_stop_leaves_no_task_port_or_file() -> None:
    before = set(asyncio.all_tasks())
    started = time.perf_counter()
    stack = DemoStack(speed=10)
    profile = await stack.start()
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, f"start took {elapsed:.2f}s (budget 0.5s on an idle machine; slack for loaded CI)"
    assert isinstance(profile, Profile) and profile is stack.profile
    assert stack.sshd is not None and stack.prometheus is not None and stack.blue is not None
    endpoints = [(ep.address, ep.port) for ep in stack.sshd.endpoints.values()]
    endpoints += [("127.0.0.1", stack.prometheus.port), ("127.0.0.1", stack.blue.port)]
    assert all(addr.startswith("127.") for addr, _ in endpoints)
    assert not any(_refused(a, p) for a, p in endpoints)
    workdir = stack.workdir
    assert workdir is not None and workdir.is_dir()
    await stack.stop()
    assert all(_refused(a, p) for a, p in endpoints)
    assert not workdir.exists()
    await asyncio.sleep(0)  # let cancelled callbacks run
    assert set(asyncio.all_tasks()) - before == set()
    await stack.stop()  # idempotent


async def test_profile_points_at_the_running_stack(stack: DemoStack) -> None:
    p = stack.profile
    assert p.cockpit.environment == "demo" and p.cockpit.refresh == 1.0
    assert p.sources["prom"].url == stack.prometheus.url  # type: ignore[union-attr]
    assert p.sources["blue"].url == f"{stack.blue.url}/healthz"  # type: ignore[union-attr]
    for path in (p.ssh.known_hosts, p.ssh.config, *p.ssh.client_keys):
        assert path is not None and Path(path).is_file()
        assert Path(path).is_relative_to(stack.workdir)  # type: ignore[arg-type]
    assert (Path(p.ssh.client_keys[0]).stat().st_mode & 0o077) == 0
    assert p.vars["demo_out"] == str(stack.workdir)
    config = Path(p.ssh.config).read_text()  # type: ignore[arg-type]
    for host, ep in stack.sshd.endpoints.items():  # type: ignore[union-attr]
        assert f"Host {host}\n    HostName {ep.address}\n    Port {ep.port}\n" in config
    known = Path(p.ssh.known_hosts).read_text().splitlines()
    assert len(known) == 5 and all(line.startswith("[127.0.0.") for line in known)
    assert len({line.split()[2] for line in known}) == 5, "every host has its own key"
    assert p.step("cs-email").email.outbox.startswith(str(stack.workdir))  # type: ignore[union-attr]
    assert Path(p.step("cs-email").email.template).is_file()  # type: ignore[union-attr]
    # a copy of the profile: journal and lock are keyed by the path, so each demo run is a fresh session
    assert Path(p.path).parent == stack.workdir and Path(p.path).read_text().startswith("# Demo")


async def test_same_steps_checks_and_signals_as_academy(stack: DemoStack) -> None:
    from cockpit.profile.load import load_profile
    from cockpit.profile.locate import locate_profile

    academy = load_profile(locate_profile("academy"))
    demo = stack.profile
    assert [s.id for s in demo.steps] == [s.id for s in academy.steps]
    assert [s.key for s in demo.steps] == [s.key for s in academy.steps]
    assert [(c.id, c.signal, str(c.condition), c.within, c.consecutive) for c in demo.checks] == [
        (c.id, c.signal, str(c.condition), c.within, c.consecutive) for c in academy.checks
    ]
    assert [(s.id, s.query, s.command) for s in demo.signals] == [
        (s.id, s.query, s.command) for s in academy.signals
    ]
    for step in demo.steps:
        if step.kind == "ssh" and step.id != "compat-audit":
            twin = academy.step(step.id)
            assert step.command == twin.command and step.verify == twin.verify, step.id
    assert demo.cockpit.refresh == 1.0 and demo.cockpit.environment == "demo"


def test_a_bad_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        DemoStack(speed=0)


def test_cockpit_demo_refuses_a_bad_speed(capsys: pytest.CaptureFixture[str]) -> None:
    from cockpit.cli import main

    assert main(["demo", "--speed", "-3"]) == 2
    err = capsys.readouterr().err
    assert "--speed" in err and "Traceback" not in err


async def test_a_frozen_clock_gives_identical_answers() -> None:
    """Snapshot tests freeze the clock: the same seed then gives byte-identical Prometheus answers."""
    import httpx

    def frozen() -> float:
        return 1_800_000_000.0

    bodies = []
    for _ in range(2):
        async with DemoStack(speed=10, seed=3, clock=frozen) as stack, httpx.AsyncClient(timeout=5) as client:
            url = stack.profile.sources["prom"].url
            answers = []
            for signal in ("queues", "http_5xx", "ingestion_lag"):
                query = stack.profile.signal(signal).query
                r = await client.get(f"{url}/api/v1/query", params={"query": query})
                answers.append(r.text)
                r = await client.get(
                    f"{url}/api/v1/query_range",
                    params={"query": query, "start": "1799999400", "end": "1800000000", "step": "15"},
                )
                answers.append(r.text)
            again = await client.get(
                f"{url}/api/v1/query", params={"query": stack.profile.signal("queues").query}
            )
            assert again.text == answers[0], "time stands still"
            bodies.append(answers)
    assert bodies[0] == bodies[1]
    assert '"value": [1800000000.0, ' in bodies[0][0]


async def test_the_demo_alertmanager_follows_the_platform_and_keeps_silences(stack: DemoStack) -> None:
    """The demo's Alertmanager (cockpit/demo/alerts.py) through the cockpit's own client: an alert fires
    while its cause holds, a silence covers what its matchers match, expiring it lets it page again."""
    from cockpit.alertmanager import Client, parse_matcher

    am = stack.alertmanager
    assert am is not None
    client = Client(am.url)

    def state(alerts: list) -> dict[str, tuple[bool, tuple[str, ...]]]:  # type: ignore[type-arg]
        return {a.labels["alertname"]: (a.pages, a.silenced_by) for a in alerts}

    before = state(await client.alerts())
    assert "HorizonPaused" not in before and before["Http5xxHigh"] == (True, ())   # the bad release pages
    stack.sim.horizon_signal("worker-1", "USR2")                                    # what `horizon:pause` does
    assert state(await client.alerts(['env="production"']))["HorizonPaused"] == (True, ())
    now = stack.sim.clock()
    sid = await client.create_silence([parse_matcher('alertname=~"HorizonPaused|OctaneDown"')], now, now + 60,
                                      "deploy", "test")
    after = state(await client.alerts())
    assert after["HorizonPaused"] == (False, (sid,)) and after["Http5xxHigh"] == (True, ())
    assert "HorizonPaused" not in state(await client.alerts(silenced=False))
    assert await client.extend_silence(sid, now + 120) == sid
    silence = await client.get_silence(sid)
    assert silence is not None and silence.state == "active" and silence.ends_at == pytest.approx(now + 120, abs=1)
    await client.expire_silence(sid)
    silence = await client.get_silence(sid)
    assert silence is not None and silence.state == "expired"
    assert state(await client.alerts())["HorizonPaused"] == (True, ())


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "bad silence: not JSON"),
    (b"[1, 2]", "bad silence: matchers, startsAt and endsAt (after startsAt) are required"),
    (b'{"matchers": [], "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T01:00:00Z"}',
     "bad silence: matchers, startsAt and endsAt (after startsAt) are required"),
    (b'{"matchers": [{"name": "a", "value": "b"}], "startsAt": "2026-01-01T00:00:00Z"}',
     "bad silence: matchers, startsAt and endsAt (after startsAt) are required"),
    (b'{"matchers": [{"name": "a", "value": "b"}], "startsAt": "2026-01-01T01:00:00Z", '
     b'"endsAt": "2026-01-01T00:00:00Z"}',
     "bad silence: matchers, startsAt and endsAt (after startsAt) are required"),
])
async def test_the_demo_alertmanager_refuses_a_bad_silence_as_alertmanager_does(body: bytes, message: str) -> None:
    am = DemoAlertmanager(AcademySim(speed=1.0, seed=7))
    answer = await am(Request("POST", "/api/v2/silences", {}, {}, body))
    assert answer.status == 400 and json.loads(answer.body) == message
    assert am.silences == {}
