"""Email: the template rendered, sent to a real SMTP server (STARTTLS + AUTH, or plain), or to an outbox."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from cockpit.profile.model import EmailSpec, StepSpec
from cockpit.steps import execute, preview
from tests.conftest import REPO
from tests.steps.conftest import make_ctx
from tests.steps.smtp import Mailbox

PASSWORD = "s3cret-smtp-pass"
TEMPLATE = "Subject: Rollback on {environment}\nHello,\n\n{driver} rolled back {profile} in {rto_elapsed}.\n"


def email_step(timeout: float = 5.0, **kw: object) -> StepSpec:
    args: dict[str, object] = {"template": "runbooks/cs.md", "to": ("cs@example.com", "lead@example.com"),
                               "sender": "oncall@academy.example"}
    args.update(kw)
    return StepSpec(id="cs-email", title="Email Customer Success", phase="communicate", kind="email",
                    timeout=timeout, email=EmailSpec(**args))  # type: ignore[arg-type]


def everything(result: object) -> str:
    return repr(result) + json.dumps(asdict(result), default=str)  # type: ignore[call-overload]


@pytest.fixture
def profile_dir(tmp_path: Path, smtp_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "cs.md").write_text(TEMPLATE)
    shutil.copy(smtp_cert[0], tmp_path / "smtp-ca.pem")
    monkeypatch.setenv("SMTP_USER", "cockpit")
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    return tmp_path


async def test_starttls_with_auth_delivers_rendered_email(profile_dir: Path,
                                                          smtp_tls: tuple[Mailbox, int]) -> None:
    box, port = smtp_tls
    step = email_step(smtp_host="localhost", smtp_port=port, starttls=True, ca_bundle="smtp-ca.pem",
                      username="${env:SMTP_USER}", password="${env:SMTP_PASSWORD}")
    result = await execute(step, make_ctx(profile_dir, step))

    assert result.ok, result.reason
    assert box.logins == [("cockpit", PASSWORD)]
    (got,) = box.messages
    assert got["tls"] is True
    assert got["from"] == "oncall@academy.example"
    assert got["to"] == ["cs@example.com", "lead@example.com"]
    msg = message_from_bytes(got["data"], policy=default_policy)
    assert msg["Subject"] == "Rollback on drill"
    assert msg["From"] == "oncall@academy.example"
    assert msg["To"] == "cs@example.com, lead@example.com"
    assert msg.get_content().replace("\r\n", "\n") == "Hello,\n\nalice rolled back academy-drill in 10m00s.\n"
    assert result.detail["mode"] == "smtp"
    assert result.detail["auth_user"] == "cockpit"
    assert PASSWORD not in everything(result)


async def test_wrong_password_is_refused_clearly(profile_dir: Path, smtp_tls: tuple[Mailbox, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "not-the-password")
    box, port = smtp_tls
    step = email_step(smtp_host="localhost", smtp_port=port, ca_bundle="smtp-ca.pem",
                      username="${env:SMTP_USER}", password="${env:SMTP_PASSWORD}")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert f"SMTP localhost:{port}: authentication refused (535" in (result.reason or "")
    assert box.messages == []
    assert "not-the-password" not in everything(result)


async def test_untrusted_certificate_is_refused(profile_dir: Path, smtp_tls: tuple[Mailbox, int]) -> None:
    box, port = smtp_tls
    step = email_step(smtp_host="localhost", smtp_port=port, username="${env:SMTP_USER}",
                      password="${env:SMTP_PASSWORD}")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert "TLS certificate not trusted" in (result.reason or "")
    assert box.logins == [] and box.messages == []


async def test_plain_server_without_starttls(profile_dir: Path, smtp_plain: tuple[Mailbox, int]) -> None:
    box, port = smtp_plain
    step = email_step(smtp_host="127.0.0.1", smtp_port=port, starttls=False)
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.ok, result.reason
    (got,) = box.messages
    assert got["tls"] is False
    assert b"alice rolled back academy-drill" in got["data"]


async def test_starttls_required_but_not_offered(profile_dir: Path, smtp_plain: tuple[Mailbox, int]) -> None:
    box, port = smtp_plain
    step = email_step(smtp_host="127.0.0.1", smtp_port=port, starttls=True)
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert result.reason == f"SMTP server 127.0.0.1:{port} does not offer STARTTLS"
    assert box.messages == []


async def test_credentials_never_sent_without_tls(profile_dir: Path, smtp_plain: tuple[Mailbox, int]) -> None:
    box, port = smtp_plain
    step = email_step(smtp_host="127.0.0.1", smtp_port=port, starttls=False,
                      username="${env:SMTP_USER}", password="${env:SMTP_PASSWORD}")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert "refusing to send SMTP credentials without STARTTLS" in (result.reason or "")
    assert box.messages == [] and box.logins == []
    assert PASSWORD not in everything(result)


async def test_connection_refused(profile_dir: Path, closed_port: int) -> None:
    step = email_step(smtp_host="127.0.0.1", smtp_port=closed_port, starttls=False)
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert result.reason == f"SMTP 127.0.0.1:{closed_port}: connection refused"


async def test_outbox_gets_the_rendered_email(profile_dir: Path) -> None:
    step = email_step(outbox="outbox/cs-email.eml")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.ok, result.reason
    written = profile_dir / "outbox" / "cs-email.eml"
    msg = message_from_bytes(written.read_bytes(), policy=default_policy)
    assert msg["Subject"] == "Rollback on drill"
    assert msg["To"] == "cs@example.com, lead@example.com"
    assert "alice rolled back academy-drill in 10m00s." in msg.get_content()
    assert result.detail["outbox"] == str(written)


async def test_outbox_directory_gets_one_file_per_send(profile_dir: Path) -> None:
    (profile_dir / "outbox").mkdir()
    step = email_step(outbox="outbox")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.ok, result.reason
    (written,) = (profile_dir / "outbox").glob("cs-email-*.eml")
    assert b"alice rolled back" in written.read_bytes()


async def test_unknown_placeholder_in_template(profile_dir: Path) -> None:
    (profile_dir / "runbooks" / "cs.md").write_text("Hello {customer_name}, {driver} here.\n")
    step = email_step(outbox="out.eml")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert (result.reason or "").startswith("template runbooks/cs.md: unknown placeholder {customer_name}")
    assert not (profile_dir / "out.eml").exists()


async def test_missing_template(profile_dir: Path) -> None:
    step = email_step(template="runbooks/nope.md", outbox="out.eml")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert (result.reason or "").startswith("template runbooks/nope.md not found")


async def test_no_destination(profile_dir: Path) -> None:
    step = email_step()
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.state == "failed"
    assert "needs `smtp_host` or `outbox`" in (result.reason or "")


async def test_preview_is_the_rendered_email(profile_dir: Path) -> None:
    step = email_step(smtp_host="smtp.example", password="${env:SMTP_PASSWORD}", username="u")
    text = await preview(step, make_ctx(profile_dir, step))
    assert "To: cs@example.com, lead@example.com" in text
    assert "Subject: Rollback on drill" in text
    assert "alice rolled back academy-drill in 10m00s." in text
    assert PASSWORD not in text


async def test_academy_communication_template_renders(tmp_path: Path) -> None:
    """The real template shipped with the Academy profile uses only known placeholders."""
    (tmp_path / "runbooks").mkdir()
    shutil.copy(REPO / "profiles" / "runbooks" / "communication-template.md", tmp_path / "runbooks")
    step = email_step(template="runbooks/communication-template.md", outbox="out.eml")
    text = await preview(step, make_ctx(tmp_path, step))
    assert not text.startswith("cannot preview"), text
    assert "Subject: [Academy drill] Release rollback — status update" in text
    assert "| Incident commander | alice |" in text
    assert "{" not in text.split("\n\n", 1)[1]


async def test_multiline_placeholder_in_subject_stays_one_header_line(profile_dir: Path) -> None:
    step = email_step(outbox="out.eml", subject="Rollback: {checks}")
    result = await execute(step, make_ctx(profile_dir, step))
    assert result.ok, result.reason
    msg = message_from_bytes((profile_dir / "out.eml").read_bytes(), policy=default_policy)
    assert msg["Subject"] == "Rollback: queues ok 5xx ok"


class EchoingBox(Mailbox):
    """A hostile SMTP server: refuses the message with a long reply quoting the AUTH exchange."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        import base64

        auth = base64.b64encode(f"\0cockpit\0{self.password}".encode()).decode()
        return f"554 5.7.1 refused; you sent AUTH PLAIN {auth} and {self.password} " + "x" * 600


async def test_a_server_reply_is_redacted_one_line_and_bounded(profile_dir: Path,
                                                               smtp_cert: tuple[Path, Path]) -> None:
    import base64
    import ssl

    from tests.steps.smtp import start_smtp

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*smtp_cert)
    controller = start_smtp(EchoingBox(), ctx)
    try:
        step = email_step(smtp_host="localhost", smtp_port=controller.port, starttls=True,
                          ca_bundle="smtp-ca.pem", username="${env:SMTP_USER}", password="${env:SMTP_PASSWORD}")
        result = await execute(step, make_ctx(profile_dir, step))
    finally:
        controller.stop()
    assert result.state == "failed"
    reason = result.reason or ""
    assert "554 5.7.1 refused; you sent AUTH PLAIN AGNvY2twaXQA[redacted] and [redacted] xxx" in reason, reason
    assert PASSWORD not in everything(result)
    assert base64.b64encode(PASSWORD.encode()).decode()[2:-2] not in everything(result)
    assert "\n" not in reason and len(reason) < 320 and reason.endswith("…")
