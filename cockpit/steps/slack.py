"""``kind = "slack"``: an incoming-webhook message with Block Kit fields and dashboard links.

Slack answers ``200`` with the body ``ok``; anything else is a failure whose reason
is Slack's error text (``invalid_payload``, ``no_service``, ...). The webhook URL is
a secret: it is resolved only here, and only its origin is ever shown.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

from cockpit import escape, secrets
from cockpit.profile.model import SlackSpec, StepSpec
from cockpit.results import StepResult
from cockpit.steps import http
from cockpit.steps.base import Scrubber, StepFailure, finish, spec_secrets
from cockpit.steps.context import StepContext
from cockpit.steps.templating import placeholders, render

_SLACK_HINTS = {
    "invalid_payload": "Slack could not read the message",
    "no_service": "the webhook was revoked or never existed",
    "no_service_id": "the webhook URL is incomplete",
    "no_team": "the workspace is gone or the URL is wrong",
    "team_disabled": "the workspace is disabled",
    "channel_not_found": "the webhook's channel is gone",
    "channel_is_archived": "the webhook's channel is archived",
    "action_prohibited": "an admin restricted posting to the channel",
    "invalid_token": "the webhook's token was revoked",
    "posting_to_general_channel_denied": "only admins may post to that channel",
    "too_many_attachments": "too many blocks/attachments",
    "rollup_error": "Slack had an internal error",
}

# documented codes without a hint of their own (https://api.slack.com/messaging/webhooks#handling_errors)
_OTHER_CODES = frozenset({"ok", "no_text", "missing_text_or_fallback_or_attachments", "invalid_blocks",
                          "invalid_blocks_format", "invalid_attachments", "invalid_token", "user_not_found",
                          "request_timeout", "fatal_error", "internal_error", "ekm_access_denied",
                          "msg_too_long", "too_many_requests", "invalid_auth", "not_authed"})

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def _link(url: str, title: str) -> str:
    """``<url|title>`` with both parts escaped: ``&<>`` as entities, and a ``|`` in the URL
    percent-encoded so it cannot end the URL early."""
    return f"<{escape.slack(url).replace('|', '%7C')}|{escape.slack(title)}>"


def _spec(step: StepSpec) -> SlackSpec:
    if step.slack is None:
        raise StepFailure(f"step {step.id} is kind slack but has no [step.slack] table")
    return step.slack


def build_payload(step: StepSpec, ctx: StepContext, now: float | None = None) -> dict[str, Any]:
    """The JSON body: ``text`` (the notification fallback) and ``blocks``."""
    spec = _spec(step)
    values = placeholders(ctx.facts, now)
    text = render(spec.text, values, where=f"step {step.id}: slack text", escape=escape.slack_multiline)
    facts = ctx.facts
    fields = [
        ("Profile", facts.profile),
        ("Environment", facts.environment),
        ("Driver", facts.driver),
        ("RTO", f"{values['rto_elapsed']} elapsed of {values['rto_budget']}"),
        ("Steps done", values["steps_done"]),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{escape.slack(v)}"[:2000]} for k, v in fields],
        },
    ]
    links = []
    for title, url in spec.dashboards.items():
        target = render(url, values, where=f"step {step.id}: dashboard {title!r}")
        links.append(_link(target, title))
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link} for link in links[:10]]})
    window = f"Incident window {values['from_iso']} → {values['to_iso']}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": window}]})
    return {"text": text, "blocks": blocks}


def preview(step: StepSpec, ctx: StepContext) -> str:
    payload = build_payload(step, ctx)
    lines = [f"Slack message (incoming webhook of step {step.id}):", "", payload["text"], ""]
    for block in payload["blocks"][1:]:
        for item in block.get("fields", []) + block.get("elements", []):
            readable = _LINK.sub(lambda m: f"{m.group(2)}: {m.group(1)}", item["text"].replace("\n", ": "))
            lines.append("  " + html.unescape(readable))
    return "\n".join(lines)


def error_code(body: str) -> str | None:
    """Slack's error code when ``body`` is one (``invalid_payload``, ``channel_not_found``, …), else None.

    Only a documented code is ever quoted: any other body (an error page from a proxy that
    echoes the request path, i.e. the secret webhook) is described by its size, never shown."""
    text = body.strip()
    return text if text in _SLACK_HINTS or text in _OTHER_CODES else None


def _said(body: str) -> str:
    code = error_code(body)
    if code is not None:
        return code
    if not body.strip():
        return "(empty body)"
    return f"(a {len(body.encode())}-byte answer that is not a Slack error code; not quoted)"


def _failure_reason(status: int, body: str) -> str:
    code = error_code(body)
    reason = f"Slack answered {http.status_reason(status)}: {_said(body)}"
    if code in _SLACK_HINTS:
        reason += f" ({_SLACK_HINTS[code]})"
    if status >= 500 and status != 503:
        reason += "; the message may have been posted: check the channel before firing again"
    return reason


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    spec = _spec(step)
    scrub = Scrubber(ctx, spec_secrets(spec))
    detail: dict[str, object] = {"request": {"method": "POST", "url": "[webhook]"}}
    try:
        payload = build_payload(step, ctx)
        detail["request"] = {"method": "POST", "url": "[webhook]", "json": payload}
        try:
            url = secrets.resolve(spec.webhook)
        except secrets.SecretError as exc:
            raise StepFailure(f"Slack webhook: {exc}") from None
        scrub.add(url)
        target = f"Slack webhook ({http.origin(url)})"
        detail["request"] = {"method": "POST", "url": f"{http.origin(url)}/[webhook]", "json": payload}
        answer = await http.post(url, target=target, timeout=step.timeout, json=payload)
        detail["response"] = {"status": answer.status, "body": _said(answer.body)}
        detail["attempts"] = answer.attempts
        if answer.status == 200 and answer.body.strip() == "ok":
            return finish(step.id, "ok", started, command="slack: POST webhook", scrub=scrub, detail=detail)
        raise StepFailure(_failure_reason(answer.status, answer.body))
    except StepFailure as exc:
        detail.update(exc.detail)
        return finish(step.id, "failed", started, command="slack: POST webhook", scrub=scrub,
                      reason=exc.reason, detail=detail)
