"""Slack, Jira and email steps against hostile servers: the step's timeout is TOTAL.

A webhook that trickles its answer a byte at a time, never ends it, or sends
megabytes ends the step within its timeout with a clear reason, and the request
(which may have been received) is never sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.profile.model import EmailSpec, JiraSpec, SlackSpec, StepSpec
from cockpit.results import StepResult
from cockpit.steps import execute
from tests.steps.conftest import make_ctx
from tests.support.hostile import Hostile, running_hostile

GRACE = 1.0  # seconds allowed beyond the timeout (scheduling on a loaded 2-core machine)
TIMEOUT = 1.0


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    monkeypatch.setenv("JIRA_TOKEN", "jira-T0ken-abcdef123456")
    with running_hostile() as srv:
        monkeypatch.setenv("SLACK_WEBHOOK", srv.url("/services/T0001/B0002/XyZsecretWebhookToken"))
        yield srv


def step_of(kind: str, url: str, timeout: float = TIMEOUT) -> StepSpec:
    if kind == "slack":
        return StepSpec(id="announce", title="Announce", phase="communicate", kind="slack", timeout=timeout,
                        slack=SlackSpec(webhook="${env:SLACK_WEBHOOK}", text="Rollback started"))
    return StepSpec(id="cab", title="CAB", phase="communicate", kind="jira", timeout=timeout,
                    jira=JiraSpec(url=url, issue="CHG-1", token="${env:JIRA_TOKEN}", body="signed off"))


async def run(kind: str, srv: Hostile, tmp_path: Path, timeout: float = TIMEOUT) -> tuple[StepResult, float]:
    step = step_of(kind, srv.url(), timeout)
    t = time.monotonic()
    result = await execute(step, make_ctx(tmp_path, step))
    return result, time.monotonic() - t


@pytest.mark.parametrize("kind", ["slack", "jira"])
async def test_trickling_answer_ends_the_step_at_its_timeout(kind: str, hostile: Hostile, tmp_path: Path):
    hostile.set("trickle", trickle_every=0.2)  # a byte every 0.2 s: no per-read timeout ever fires
    result, took = await run(kind, hostile, tmp_path)
    assert result.state == "failed"
    assert "gave no full answer within 1s (HTTP 200, answer still arriving)" in (result.reason or "")
    assert "may have been processed" in (result.reason or "")
    assert took < TIMEOUT + GRACE
    assert hostile.requests == 1, "a request that may have been received is never re-sent"
    assert "XyZsecret" not in repr(result)


@pytest.mark.parametrize("kind", ["slack", "jira"])
@pytest.mark.parametrize("mode", ["endless", "huge", "huge_declared"])
async def test_endless_or_huge_answer_is_cut_at_the_cap(kind: str, mode: str, hostile: Hostile, tmp_path: Path):
    hostile.set(mode)
    result, took = await run(kind, hostile, tmp_path, timeout=5.0)  # generous: 4 MB must be read in it
    assert result.state == "failed"
    assert "sent an answer over 4 MB (HTTP 200, not read)" in (result.reason or "")
    assert took < 5.0 + GRACE
    assert hostile.requests == 1


@pytest.mark.parametrize("kind", ["slack", "jira"])
async def test_hang_garbage_and_drop(kind: str, hostile: Hostile, tmp_path: Path):
    hostile.set("hang")
    result, took = await run(kind, hostile, tmp_path)
    assert "gave no answer within 1s" in (result.reason or "") and took < TIMEOUT + GRACE
    hostile.set("garbage")
    result, _ = await run(kind, hostile, tmp_path)
    assert result.state == "failed" and "HTTP 200" in (result.reason or ""), result.reason
    hostile.set("drop")
    result, _ = await run(kind, hostile, tmp_path)
    assert result.state == "failed" and "closed the connection" in (result.reason or ""), result.reason
    assert hostile.requests == 3


async def test_trickling_smtp_server_ends_the_email_step_at_its_timeout(hostile: Hostile, tmp_path: Path):
    hostile.set("smtp_trickle", trickle_every=0.2)
    (tmp_path / "cs.md").write_text("Subject: Rollback\nHello\n")
    step = StepSpec(id="cs", title="Email CS", phase="communicate", kind="email", timeout=TIMEOUT,
                    email=EmailSpec(template="cs.md", to=("cs@example.com",), sender="oncall@example.com",
                                    smtp_host="127.0.0.1", smtp_port=hostile.port))
    t = time.monotonic()
    result = await execute(step, make_ctx(tmp_path, step))
    took = time.monotonic() - t
    assert result.state == "failed"
    assert result.reason == f"SMTP 127.0.0.1:{hostile.port}: no answer within 1s"
    assert took < TIMEOUT + GRACE
