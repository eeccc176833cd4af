"""Values from outside the profile put into a message (the driver's user@host, check lines) are
escaped for the message's format: they add no line, no link, no mention, no header. Real HTTP and
SMTP receivers on loopback get the messages."""

from __future__ import annotations

import dataclasses
import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from cockpit.profile.model import EmailSpec, JiraSpec, SlackSpec, StepSpec
from cockpit.steps import execute
from tests.steps.conftest import FACTS, make_ctx
from tests.steps.receiver import Receiver, Reply
from tests.steps.smtp import Mailbox

HOSTILE = ("eve\n*Rollback ended* — RTO met <!channel> <http://evil.example|click here> "
           "[~admin] [text|http://evil.example] !http://evil.example/b.png! {code}x{code}\x1b[2J")


def _ctx(directory: Path, step: StepSpec):   # type: ignore[no-untyped-def]
    ctx = make_ctx(directory, step)
    return dataclasses.replace(ctx, facts=dataclasses.replace(FACTS, driver=HOSTILE))


async def test_slack_value_adds_no_line_link_or_broadcast(tmp_path: Path, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK", receiver.url + "/services/T0/B0/sekritWebhookPath")
    step = StepSpec(id="announce", title="Announce", phase="communicate", kind="slack", timeout=5.0,
                    slack=SlackSpec(webhook="${env:SLACK_WEBHOOK}", text="*Rollback* by {driver}\nsecond line"))
    result = await execute(step, _ctx(tmp_path, step))
    assert result.ok, result.reason
    body = receiver.requests[0].json()
    text = body["text"]
    assert text.split("\n")[1] == "second line"                # the value added no line of its own
    assert "<!channel>" not in text and "<http" not in text and "&lt;!channel&gt;" in text
    assert "\x1b" not in text
    for field in body["blocks"][1]["fields"]:
        assert field["text"].count("\n") == 1 and "<" not in field["text"].split("\n")[1]


async def test_email_value_adds_no_line_and_no_header(tmp_path: Path, smtp_plain: tuple[Mailbox, int]) -> None:
    box, port = smtp_plain
    profile_dir = tmp_path
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "cs.md").write_text("Hello,\n\n{driver} rolled back {profile}.\n\nOn call\n")
    step = StepSpec(id="cs", title="CS", phase="communicate", kind="email", timeout=5.0,
                    email=EmailSpec(template="runbooks/cs.md", to=("cs@example.com",), sender="oncall@academy.example",
                                    subject="Rollback by {driver}", smtp_host="127.0.0.1", smtp_port=port,
                                    starttls=False))
    result = await execute(step, _ctx(profile_dir, step))
    assert result.ok, result.reason
    msg = message_from_bytes(box.messages[0]["data"], policy=default_policy)
    assert "\n" not in str(msg["Subject"]) and msg["Subject"].startswith("Rollback by eve ")
    assert set(msg.keys()) == {"From", "To", "Subject", "Date", "Message-ID", "Content-Type",
                               "Content-Transfer-Encoding", "MIME-Version"}
    body = msg.get_content()
    assert not any(line.startswith("*Rollback ended*") for line in body.splitlines())
    assert "\x1b" not in body


@pytest.mark.parametrize("api", [2, 3])
async def test_jira_value_is_escaped_for_the_api_format(tmp_path: Path, receiver: Receiver, api: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "jira-token-123456")
    receiver.answer(Reply(201, '{"id": "1"}', "application/json"))
    step = StepSpec(id="cab", title="CAB", phase="communicate", kind="jira", timeout=5.0,
                    jira=JiraSpec(url=receiver.url, issue="CHG-1", token="${env:JIRA_TOKEN}", api=api,
                                  body="h3. CAB\nRollback by {driver}\n*done*"))
    result = await execute(step, _ctx(tmp_path, step))
    assert result.ok, result.reason
    body = receiver.requests[0].json()["body"]
    if api == 2:
        lines = body.split("\n")
        assert lines[0] == "h3. CAB" and lines[2] == "*done*" and len(lines) == 3   # the profile's markup stays
        for pattern in (r"(?<!\\)\[~admin", r"(?<!\\)\[text", r"(?<!\\)!http", r"(?<!\\)\{code", r"(?<!\\)\*Rollback"):
            assert not re.search(pattern, lines[1]), (pattern, lines[1])
    else:
        para = body["content"][0]["content"]
        texts = [n["text"] for n in para if n["type"] == "text"]
        assert len(texts) == 3 and texts[1].startswith("Rollback by eve ⏎ *Rollback ended*")
        assert "\x1b" not in texts[1]
