"""Slack incoming webhook: the exact request shape, Slack's answers, and the webhook never shown."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from cockpit.profile.model import SlackSpec, StepSpec
from cockpit.steps import execute, preview
from tests.steps.conftest import ENDED, STARTED, make_ctx
from tests.steps.receiver import Drop, Hang, Receiver, Reply

SECRET_PATH = "/services/T0001/B0002/XyZsecretWebhookToken"
DASHBOARDS = {
    "Rollback readiness": "https://grafana.example/d/abc/rollback?orgId=1&from={from}&to={to}",
    "Datadog snapshot": "https://app.datadoghq.com/dashboard/xyz?from_ts={from}&to_ts={to}&live=false",
}


def slack_step(text: str = "*Rollback started* on {environment} by {driver}", timeout: float = 2.0,
               webhook: str = "${env:SLACK_WEBHOOK}") -> StepSpec:
    return StepSpec(
        id="announce-start", title="Announce start", phase="communicate", kind="slack", timeout=timeout,
        slack=SlackSpec(webhook=webhook, text=text, dashboards=DASHBOARDS),
    )


def everything(result: object) -> str:
    return repr(result) + json.dumps(asdict(result), default=str)  # type: ignore[call-overload]


@pytest.fixture
def webhook(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> str:
    url = receiver.url + SECRET_PATH
    monkeypatch.setenv("SLACK_WEBHOOK", url)
    return url


async def test_posts_documented_webhook_shape(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))

    assert result.ok, result.reason
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert req.method == "POST"
    assert req.path == SECRET_PATH
    assert req.headers["content-type"] == "application/json"
    body = req.json()
    assert set(body) == {"text", "blocks"}
    assert body["text"] == "*Rollback started* on drill by alice"
    section, fields, links, window = body["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    assert fields["type"] == "section"
    texts = [f["text"] for f in fields["fields"]]
    assert all(f["type"] == "mrkdwn" for f in fields["fields"])
    assert texts == [
        "*Profile*\nacademy-drill",
        "*Environment*\ndrill",
        "*Driver*\nalice",
        "*RTO*\n10m00s elapsed of 15m00s",
        "*Steps done*\nhorizon-pause, fpm-reload",
    ]
    assert links["type"] == "context"
    ms_from, ms_to = int(STARTED * 1000), int(ENDED * 1000)
    assert [e["text"] for e in links["elements"]] == [
        f"<https://grafana.example/d/abc/rollback?orgId=1&amp;from={ms_from}&amp;to={ms_to}|Rollback readiness>",
        f"<https://app.datadoghq.com/dashboard/xyz?from_ts={ms_from}&amp;to_ts={ms_to}&amp;live=false|Datadog snapshot>",
    ]
    assert window["elements"][0]["text"] == "Incident window 2023-11-14T22:13:20Z → 2023-11-14T22:23:20Z"
    assert result.detail["response"] == {"status": 200, "body": "ok"}
    assert result.detail["request"]["json"] == body  # type: ignore[index]
    assert "XyZsecret" not in everything(result)


async def test_placeholder_values_are_escaped_not_the_template(tmp_path: Path, receiver: Receiver,
                                                               webhook: str) -> None:
    step = slack_step(text="<!here> rollback of {profile} & friends")
    ctx = make_ctx(tmp_path, step)
    ctx = type(ctx)(profile=ctx.profile, facts=type(ctx.facts)(**{**asdict(ctx.facts), "profile": "a<b>&c"}))
    assert (await execute(step, ctx)).ok
    assert receiver.requests[0].json()["text"] == "<!here> rollback of a&lt;b&gt;&amp;c & friends"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, "invalid_payload", "HTTP 400 bad request: invalid_payload (Slack could not read the message)"),
        (403, "invalid_token", "HTTP 403 forbidden: the credentials may not do this: invalid_token"),
        (404, "no_service", "HTTP 404 not found: no_service (the webhook was revoked or never existed)"),
        (410, "channel_is_archived", "channel_is_archived (the webhook's channel is archived)"),
        (500, "rollup_error", "may have been posted: check the channel"),
        (200, "something_else", "HTTP 200: (a 14-byte answer that is not a Slack error code; not quoted)"),
        (404, "Cannot POST /x", "HTTP 404 not found: (a 14-byte answer that is not a Slack error code; not quoted)"),
    ],
)
async def test_slack_errors_are_reasons_never_retried(tmp_path: Path, receiver: Receiver, webhook: str,
                                                      status: int, body: str, expected: str) -> None:
    receiver.answer(Reply(status, body))
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert expected in (result.reason or "")
    assert len(receiver.requests) == 1, "a 4xx/500 must never be retried"
    assert "XyZsecret" not in everything(result)


async def test_503_is_retried_once(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    receiver.answer(Reply(503, "upstream unavailable"), Reply(200, "ok"))
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.ok, result.reason
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert result.detail["attempts"] == 2


async def test_two_503_give_up_after_one_retry(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    receiver.answer(Reply(503, "no"), Reply(503, "still no"), Reply(200, "ok"))
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "503" in (result.reason or "")
    assert len(receiver.requests) == 2


async def test_hanging_slack_times_out_without_retry(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    receiver.answer(Hang())
    step = slack_step(timeout=0.5)
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "no answer within 0.5s" in (result.reason or "")
    assert "may have been processed" in (result.reason or "")
    assert len(receiver.requests) == 1, "a request that may have been received is never re-sent"
    assert "XyZsecret" not in everything(result)


async def test_dropped_connection_is_not_retried(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    receiver.answer(Drop())
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "closed the connection" in (result.reason or "")
    assert len(receiver.requests) == 1


async def test_connection_refused_is_retried_then_reported(tmp_path: Path, closed_port: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK", f"http://127.0.0.1:{closed_port}{SECRET_PATH}")
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == f"could not connect to Slack webhook (http://127.0.0.1:{closed_port}): connection refused"
    assert result.detail["attempts"] == 2
    assert "XyZsecret" not in everything(result)


async def test_dns_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK", f"https://hooks.slack.invalid{SECRET_PATH}")
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "DNS lookup" in (result.reason or "")
    assert "XyZsecret" not in everything(result)


async def test_unset_webhook_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK", raising=False)
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "SLACK_WEBHOOK is not set" in (result.reason or "")


async def test_literal_webhook_in_profile_is_still_hidden(tmp_path: Path, receiver: Receiver) -> None:
    step = slack_step(webhook=receiver.url + SECRET_PATH)
    receiver.answer(Reply(404, "no_service"))
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "XyZsecret" not in everything(result)
    assert "XyZsecret" not in await preview(step, make_ctx(tmp_path, step))


async def test_unknown_placeholder_is_a_clear_failure(tmp_path: Path, receiver: Receiver, webhook: str) -> None:
    step = slack_step(text="rollback by {operator}")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason is not None
    assert result.reason.startswith("step announce-start: slack text: unknown placeholder {operator}")
    assert "{driver}" in result.reason
    assert receiver.requests == []
    assert (await preview(step, make_ctx(tmp_path, step))).startswith("cannot preview: ")


async def test_preview_shows_message_and_links(tmp_path: Path, webhook: str) -> None:
    step = slack_step()
    text = await preview(step, make_ctx(tmp_path, step))
    assert "*Rollback started* on drill by alice" in text
    assert "Rollback readiness" in text and f"from={int(STARTED * 1000)}" in text
    assert "XyZsecret" not in text


async def test_echoed_webhook_is_redacted_before_the_body_is_cut(tmp_path: Path, receiver: Receiver,
                                                                 webhook: str) -> None:
    """A proxy's 500 page that echoes the request URL where the 500-character excerpt ends:
    cutting first left the start of the secret path in the reason and the detail."""
    filler = "x" * (500 - len(receiver.url + "/services/T0001/B0") - 1)   # the cut lands in the path
    receiver.answer(Reply(500, f"{filler} {webhook} failed upstream"))
    step = slack_step()
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "/services/T0001" not in everything(result)
