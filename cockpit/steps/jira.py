"""``kind = "jira"``: a comment on the change issue, and attachments (e.g. k6 results).

REST API v2 takes the comment as plain text (``{"body": "..."}``); v3 as an
Atlassian Document Format document. Attachments go to ``/rest/api/2/issue/{key}/attachments``
as multipart field ``file`` with ``X-Atlassian-Token: no-check``. The comment text is
``body``, then the ``template`` file, then the incident timeline when ``report = true``,
joined by blank lines. Attachments are uploaded before the comment.
"""

from __future__ import annotations

import base64
import mimetypes
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cockpit import escape, secrets
from cockpit.profile.model import JiraSpec, StepSpec
from cockpit.results import StepResult
from cockpit.steps import http
from cockpit.steps.base import (
    Scrubber,
    StepFailure,
    finish,
    profile_dir,
    read_template,
    relative_to_profile,
    spec_secrets,
)
from cockpit.steps.context import StepContext
from cockpit.steps.templating import placeholders, render

_MAX_ATTACHMENTS = 50


def _spec(step: StepSpec) -> JiraSpec:
    if step.jira is None:
        raise StepFailure(f"step {step.id} is kind jira but has no [step.jira] table")
    return step.jira


def _report(ctx: StepContext, api: int) -> str:
    if not ctx.journal_path:
        raise StepFailure("report = true but this session has no journal to report from")
    try:
        from cockpit.journal import read_journal
        from cockpit.report import render_jira, render_plain
    except ImportError as exc:
        raise StepFailure(f"report = true but the report module is unavailable ({exc.name})") from None
    entries = read_journal(ctx.journal_path)
    return render_plain(entries) if api >= 3 else render_jira(entries)


def value_escape(api: int) -> Callable[[str], str]:
    """How a ``{placeholder}`` value is escaped in a comment: Jira wiki markup for API v2, plain
    text for v3 (ADF text is never markup); line by line (``{checks}`` is lines by design)."""
    inline = escape.one_line if api >= 3 else escape.jira
    return lambda value: "\n".join(inline(line) for line in value.split("\n"))


def comment_text(step: StepSpec, ctx: StepContext, *, previewing: bool = False) -> str:
    """The comment body: wiki markup (API v2) or plain text (v3); "" when the step only attaches files.

    The profile's own ``body`` and ``template`` are markup as written; every value put into them
    and the incident timeline are escaped for the API's format."""
    spec = _spec(step)
    values = placeholders(ctx.facts)
    esc = value_escape(spec.api)
    parts: list[str] = []
    if spec.body:
        parts.append(render(spec.body, values, where=f"step {step.id}: jira body", escape=esc))
    if spec.template:
        parts.append(render(read_template(ctx, spec.template), values, where=f"template {spec.template}",
                            escape=esc))
    if spec.report:
        parts.append("(the incident timeline, from the journal)" if previewing and not ctx.journal_path
                     else _report(ctx, spec.api))
    if not parts and not spec.attachments:
        raise StepFailure(f"step {step.id}: jira needs `body`, `template`, `report = true` or `attachments`")
    return "\n\n".join(p.strip("\n") for p in parts)


def adf(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: blank lines separate paragraphs, newlines become hard breaks."""
    content: list[dict[str, Any]] = []
    for para in text.split("\n\n"):
        inline: list[dict[str, Any]] = []
        for line in para.split("\n"):
            if inline:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        while inline and inline[-1]["type"] == "hardBreak":
            inline.pop()
        if inline:
            content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def attachment_files(step: StepSpec, ctx: StepContext) -> list[Path]:
    spec = _spec(step)
    if not spec.attachments:
        return []
    base = profile_dir(ctx)
    pattern = spec.attachments
    found = sorted(p for p in (Path(pattern).parent.glob(Path(pattern).name) if Path(pattern).is_absolute()
                               else base.glob(pattern)) if p.is_file())
    if not found:
        raise StepFailure(f"no file matches attachments = {pattern!r} (relative to {base})")
    if len(found) > _MAX_ATTACHMENTS:
        raise StepFailure(f"attachments = {pattern!r} matches {len(found)} files (at most {_MAX_ATTACHMENTS})")
    return found


def preview(step: StepSpec, ctx: StepContext) -> str:
    spec = _spec(step)
    files = attachment_files(step, ctx)
    text = comment_text(step, ctx, previewing=True)
    lines = [f"Jira {spec.url.rstrip('/')} issue {spec.issue} (REST API v{spec.api})"]
    if files:
        lines.append("Attach: " + ", ".join(p.name for p in files))
    if text:
        lines += ["Comment:", "", text]
    return "\n".join(lines)


def _headers(spec: JiraSpec, scrub: Scrubber) -> dict[str, str]:
    try:
        token = secrets.resolve(spec.token)
        user = secrets.resolve(spec.user) if spec.user else None
    except secrets.SecretError as exc:
        raise StepFailure(f"Jira credentials: {exc}") from None
    scrub.add(token)
    if user:
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        scrub.add(basic)
        auth = f"Basic {basic}"
    else:
        auth = f"Bearer {token}"
    return {"Authorization": auth, "Accept": "application/json"}


_MAX_MESSAGES = 5
_MAX_MESSAGE = 200


def error_messages(answer: http.Answer, scrub: Scrubber) -> str:
    """What Jira said, from its documented error list only (``errorMessages``, and the
    per-field ``errors``): redacted, each message on one line and cut, at most a few.

    Any other body (an HTML page from a proxy, a body that echoes the request) is described by
    its size, never quoted: it may hold the request's credentials or forged markup."""
    doc = answer.json
    msgs: list[str] = []
    if isinstance(doc, dict):
        listed = doc.get("errorMessages")
        if isinstance(listed, list):
            msgs += [str(m) for m in listed]
        errors = doc.get("errors")
        if isinstance(errors, dict):
            msgs += [f"{k}: {v}" for k, v in errors.items()]
    if msgs:
        shown = []
        for m in msgs[:_MAX_MESSAGES]:
            one = " ".join(scrub(m).split())
            shown.append(one if len(one) <= _MAX_MESSAGE else one[:_MAX_MESSAGE] + "…")
        more = f" (and {len(msgs) - _MAX_MESSAGES} more)" if len(msgs) > _MAX_MESSAGES else ""
        return "; ".join(shown) + more
    if not answer.body.strip():
        return ""
    return f"(a {len(answer.body.encode())}-byte answer that is not a Jira error list; not quoted)"


def _failure(what: str, spec: JiraSpec, answer: http.Answer, scrub: Scrubber) -> StepFailure:
    said = error_messages(answer, scrub)
    hint = {
        401: "check the token (and `user` for basic auth)",
        403: f"the account may not do this on {spec.issue}",
        404: f"issue {spec.issue} does not exist or is not visible to this account",
    }.get(answer.status, "")
    reason = f"Jira {what} failed: {http.status_reason(answer.status)}"
    if hint:
        reason += f" ({hint})"
    if said:
        reason += f": {said}"
    if answer.status >= 500 and answer.status != 503:
        reason += f"; it may have been stored: check {spec.issue} before firing again"
    return StepFailure(reason)


def _verify(ctx: StepContext, spec: JiraSpec) -> ssl.SSLContext | bool:
    if not spec.ca_bundle:
        return True
    path = relative_to_profile(ctx, spec.ca_bundle)
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise StepFailure(f"cannot load the CA bundle {spec.ca_bundle} ({path}): {exc}") from None


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    spec = _spec(step)
    scrub = Scrubber(ctx, spec_secrets(spec))
    base = f"{spec.url.rstrip('/')}/rest/api"
    key = quote(spec.issue, safe="")
    command = f"jira: {spec.issue}"
    detail: dict[str, object] = {"issue": spec.issue, "api": spec.api}
    target = f"Jira ({http.origin(spec.url)})"
    try:
        files = attachment_files(step, ctx)
        text = comment_text(step, ctx)
        headers = _headers(spec, scrub)
        verify = _verify(ctx, spec)
        if files:
            url = f"{base}/2/issue/{key}/attachments"
            attachments: dict[str, object] = {"url": url, "files": [p.name for p in files]}
            detail["attachments"] = attachments

            def parts() -> list[tuple[str, tuple[str, bytes, str]]]:
                return [("file", (p.name, p.read_bytes(), mimetypes.guess_type(p.name)[0]
                                  or "application/octet-stream")) for p in files]

            try:
                parts()
            except OSError as exc:
                raise StepFailure(f"cannot read an attachment: {exc}") from None
            answer = await http.post(url, target=target, timeout=step.timeout, verify=verify,
                                     headers={**headers, "X-Atlassian-Token": "no-check"}, files=parts)
            attachments.update(status=answer.status, response=error_messages(answer, scrub))
            if answer.status != 200:
                raise _failure("attachment upload", spec, answer, scrub)
        if text:
            url = f"{base}/{spec.api}/issue/{key}/comment"
            body: Any = adf(text) if spec.api >= 3 else text
            comment: dict[str, object] = {"url": url, "json": {"body": body}}
            detail["comment"] = comment
            answer = await http.post(url, target=target, timeout=step.timeout, verify=verify,
                                     headers={**headers, "Content-Type": "application/json"},
                                     json={"body": body})
            info: dict[str, object] = {"status": answer.status}
            if isinstance(answer.json, dict) and "id" in answer.json:
                info["id"] = str(answer.json["id"])
            else:
                info["response"] = error_messages(answer, scrub)
            comment.update(info)
            if answer.status != 201:
                raise _failure("comment", spec, answer, scrub)
        return finish(step.id, "ok", started, command=command, scrub=scrub, detail=detail)
    except StepFailure as exc:
        detail.update(exc.detail)
        return finish(step.id, "failed", started, command=command, scrub=scrub, reason=exc.reason, detail=detail)
