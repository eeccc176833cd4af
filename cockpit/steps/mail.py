"""``kind = "email"``: the Customer Success template, rendered and sent over SMTP or written to an outbox.

Sending uses :mod:`smtplib` in a worker thread. With ``starttls`` the session is
upgraded with a verified TLS context before any credential is sent; credentials
are never sent over a connection without TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cockpit import escape, secrets
from cockpit.bounded import in_daemon_thread
from cockpit.profile.model import EmailSpec, StepSpec
from cockpit.results import StepResult
from cockpit.steps.base import (
    Scrubber,
    StepFailure,
    finish,
    read_template,
    relative_to_profile,
    spec_secrets,
)
from cockpit.steps.context import StepContext
from cockpit.steps.templating import placeholders, render


def _spec(step: StepSpec) -> EmailSpec:
    if step.email is None:
        raise StepFailure(f"step {step.id} is kind email but has no [step.email] table")
    return step.email


def build_message(step: StepSpec, ctx: StepContext) -> EmailMessage:
    """The rendered email. A template whose first line is ``Subject: …`` supplies the subject
    when the profile sets none."""
    spec = _spec(step)
    values = placeholders(ctx.facts)
    # plain text: a value cannot add lines (each of its lines stays one line) or control characters
    plain = lambda value: "\n".join(escape.one_line(line) for line in value.split("\n"))  # noqa: E731
    body = render(read_template(ctx, spec.template), values, where=f"template {spec.template}", escape=plain)
    subject = spec.subject
    first, _, rest = body.partition("\n")
    if first.lower().startswith("subject:"):
        subject = subject or first.split(":", 1)[1].strip()
        body = rest.lstrip("\n")
    if spec.subject:
        subject = render(spec.subject, values, where=f"step {step.id}: email subject", escape=escape.header)
    if not subject:
        subject = f"[{ctx.facts.environment}] Rollback of {ctx.facts.profile}"
    subject = escape.header(subject)  # a header is one line, whatever the placeholders held
    if not spec.to:
        raise StepFailure(f"step {step.id}: email has no recipients (`to`)")
    msg = EmailMessage()
    msg["From"] = spec.sender
    msg["To"] = ", ".join(spec.to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=spec.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def preview(step: StepSpec, ctx: StepContext) -> str:
    spec = _spec(step)
    msg = build_message(step, ctx)
    where = f"SMTP {spec.smtp_host}:{spec.smtp_port}" if spec.smtp_host else f"outbox {spec.outbox}"
    head = f"Email via {where}\nFrom: {msg['From']}\nTo: {msg['To']}\nSubject: {msg['Subject']}\n\n"
    return head + str(msg.get_content())


def _tls_context(ctx: StepContext, spec: EmailSpec) -> ssl.SSLContext:
    cafile = spec.ca_bundle
    return ssl.create_default_context(cafile=str(relative_to_profile(ctx, cafile)) if cafile else None)


class _CuttableSMTP(smtplib.SMTP):
    """`smtplib.SMTP` whose connection the event loop can cut when the step's total timeout
    passes (smtplib's timeout is per read: a server trickling its replies never trips it)."""

    def __init__(self, host: str, port: int, timeout: float, box: list[_CuttableSMTP]) -> None:
        self._cut = False
        box.append(self)  # before connecting: the greeting itself may trickle
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # typeshed's smtplib leaves out the private _get_socket this class extends
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        if self._cut:
            sock.close()
            raise TimeoutError
        return sock

    def cut(self) -> None:
        self._cut = True
        sock = self.sock  # once: the worker thread may set it to None meanwhile
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read in the worker thread ends at once


def _send(spec: EmailSpec, msg: EmailMessage, tls: ssl.SSLContext, login: tuple[str, str] | None,
          timeout: float, *, box: list[_CuttableSMTP]) -> str:
    """Blocking SMTP session (runs in a thread). Returns the server's answer to the message."""
    host = spec.smtp_host or ""
    with _CuttableSMTP(host, spec.smtp_port, timeout, box) as smtp:
        smtp.ehlo()
        if spec.starttls:
            if not smtp.has_extn("starttls"):
                raise StepFailure(f"SMTP server {host}:{spec.smtp_port} does not offer STARTTLS")
            smtp.starttls(context=tls)
            smtp.ehlo()
        if login is not None:
            smtp.login(*login)
        refused = smtp.send_message(msg)
        if refused:
            bad = ", ".join(f"{rcpt} ({code} {text.decode(errors='replace')})" for rcpt, (code, text) in refused.items())
            raise StepFailure(f"SMTP server refused some recipients: {bad}")
        return "accepted"


_MAX_REPLY = 200


def _smtp_reason(exc: BaseException, where: str, timeout: float) -> str:
    def said(e: smtplib.SMTPResponseException) -> str:
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        text = " ".join(text.split())   # a multi-line reply on one line, cut: it is the server's text
        return f"{e.smtp_code} {text if len(text) <= _MAX_REPLY else text[:_MAX_REPLY] + '…'}"

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where}: authentication refused ({said(exc)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where}: every recipient was refused ({', '.join(exc.recipients)})"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{where}: sender {exc.sender} refused ({said(exc)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where}: server answered {said(exc)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where}: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
        return f"{where}: no answer within {timeout:g}s"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where}: the server closed the connection ({exc or 'no reason given'})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where}: TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS failed ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return f"{where}: DNS lookup of the host name failed"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused"
    if isinstance(exc, TimeoutError):
        return f"{where}: no answer within {timeout:g}s"
    return f"{where}: {type(exc).__name__}: {exc}"


def _write_outbox(ctx: StepContext, step: StepSpec, spec: EmailSpec, msg: EmailMessage) -> Path:
    target = relative_to_profile(ctx, spec.outbox or "")
    if target.is_dir() or (spec.outbox or "").endswith("/"):
        target = target / f"{step.id}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.eml"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(target)
    except OSError as exc:
        raise StepFailure(f"cannot write the email to outbox {spec.outbox}: {exc.strerror or exc}") from None
    return target


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    spec = _spec(step)
    scrub = Scrubber(ctx, spec_secrets(spec))
    detail: dict[str, object] = {"to": list(spec.to), "from": spec.sender}
    command = f"email: to {', '.join(spec.to)}"
    try:
        msg = build_message(step, ctx)
        detail.update({"subject": msg["Subject"], "message_id": msg["Message-ID"], "body": msg.get_content()})
        if not spec.smtp_host:
            if not spec.outbox:
                raise StepFailure(f"step {step.id}: email needs `smtp_host` or `outbox`")
            path = _write_outbox(ctx, step, spec, msg)
            detail.update({"mode": "outbox", "outbox": str(path)})
            return finish(step.id, "ok", started, command=command, scrub=scrub, detail=detail)
        login = None
        if spec.username or spec.password:
            try:
                login = (secrets.resolve(spec.username or ""), secrets.resolve(spec.password or ""))
            except secrets.SecretError as exc:
                raise StepFailure(f"SMTP credentials: {exc}") from None
            scrub.add(login[1])
            if not spec.starttls:
                raise StepFailure("refusing to send SMTP credentials without STARTTLS (set starttls = true)")
        where = f"SMTP {spec.smtp_host}:{spec.smtp_port}"
        detail.update({"mode": "smtp", "smtp": f"{spec.smtp_host}:{spec.smtp_port}",
                       "starttls": spec.starttls, "auth_user": login[0] if login else None})
        try:
            tls = _tls_context(ctx, spec)
        except (OSError, ssl.SSLError) as exc:
            raise StepFailure(f"{where}: cannot load the CA bundle: {exc}") from None
        box: list[_CuttableSMTP] = []
        try:  # the step's timeout is total; the worker is a daemon thread, never joined at exit
            answer = await asyncio.wait_for(
                in_daemon_thread(lambda: _send(spec, msg, tls, login, step.timeout, box=box), f"smtp-{step.id}"),
                step.timeout)
        except TimeoutError:
            for smtp in box:
                smtp.cut()
            raise StepFailure(f"{where}: no answer within {step.timeout:g}s") from None
        except StepFailure:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise StepFailure(_smtp_reason(exc, where, step.timeout)) from None
        detail["response"] = answer
        return finish(step.id, "ok", started, command=command, scrub=scrub, detail=detail)
    except StepFailure as exc:
        detail.update(exc.detail)
        return finish(step.id, "failed", started, command=command, scrub=scrub, reason=exc.reason, detail=detail)
