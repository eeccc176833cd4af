"""Jira REST: comment (API v2 plain text, v3 ADF), attachments (multipart `file`), auth, failures."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from cockpit.profile.model import JiraSpec, StepSpec
from cockpit.steps import execute, preview
from tests.steps.conftest import make_ctx
from tests.steps.receiver import Hang, Receiver, Reply

TOKEN = "jira-T0ken-abcdef123456"
CREATED = json.dumps({"id": "10042", "body": "..."})


def jira_step(url: str, timeout: float = 2.0, **kw: object) -> StepSpec:
    spec = JiraSpec(url=url, issue="CHG-1234", token="${env:JIRA_TOKEN}", **kw)  # type: ignore[arg-type]
    return StepSpec(id="cab-signoff", title="CAB sign-off", phase="communicate", kind="jira",
                    timeout=timeout, jira=spec)


def everything(result: object) -> str:
    return repr(result) + json.dumps(asdict(result), default=str)  # type: ignore[call-overload]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)


async def test_v2_comment_with_bearer_token(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer(Reply(201, CREATED, "application/json"))
    step = jira_step(receiver.url + "/", body="CAB sign-off: rollback of {profile} by {driver} done in {rto_elapsed}")
    result = await execute(step, make_ctx(tmp_path, step))

    assert result.ok, result.reason
    (req,) = receiver.requests
    assert req.method == "POST"
    assert req.path == "/rest/api/2/issue/CHG-1234/comment"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["accept"] == "application/json"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {"body": "CAB sign-off: rollback of academy-drill by alice done in 10m00s"}
    assert result.detail["comment"]["id"] == "10042"  # type: ignore[index]
    assert TOKEN not in everything(result)


async def test_v3_comment_is_adf_with_basic_auth(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer(Reply(201, CREATED, "application/json"))
    step = jira_step(receiver.url, api=3, user="ops@example.com", body="Rollback complete on {environment}")
    result = await execute(step, make_ctx(tmp_path, step))

    assert result.ok, result.reason
    (req,) = receiver.requests
    assert req.path == "/rest/api/3/issue/CHG-1234/comment"
    expected_auth = base64.b64encode(f"ops@example.com:{TOKEN}".encode()).decode()
    assert req.headers["authorization"] == f"Basic {expected_auth}"
    assert req.json() == {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Rollback complete on drill"}]}],
        }
    }
    text = everything(result)
    assert TOKEN not in text and expected_auth not in text


async def test_v3_multiline_template_becomes_paragraphs(tmp_path: Path, receiver: Receiver) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "cab.md").write_text("Line one {driver}\nline two\n\nSecond {{para}}\n")
    receiver.answer(Reply(201, CREATED, "application/json"))
    step = jira_step(receiver.url, api=3, template="runbooks/cab.md")
    assert (await execute(step, make_ctx(tmp_path, step))).ok
    assert receiver.requests[0].json()["body"]["content"] == [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Line one alice"}, {"type": "hardBreak"}, {"type": "text", "text": "line two"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Second {para}"}]},
    ]


async def test_attachments_then_comment(tmp_path: Path, receiver: Receiver) -> None:
    k6 = tmp_path / "artefacts" / "k6"
    k6.mkdir(parents=True)
    (k6 / "failing-run.json").write_text('{"http_req_failed": 0.12}')
    (k6 / "summary.json").write_bytes(b'{"p95": 1234}')
    (k6 / "notes.txt").write_text("not matched")
    receiver.answer(Reply(200, '[{"id": "1"}, {"id": "2"}]', "application/json"),
                    Reply(201, CREATED, "application/json"))
    step = jira_step(receiver.url, body="k6 artefacts attached", attachments="artefacts/k6/*.json")
    result = await execute(step, make_ctx(tmp_path, step))

    assert result.ok, result.reason
    upload, comment = receiver.requests
    assert upload.method == "POST"
    assert upload.path == "/rest/api/2/issue/CHG-1234/attachments"
    assert upload.headers["x-atlassian-token"] == "no-check"
    assert upload.headers["authorization"] == f"Bearer {TOKEN}"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = upload.multipart()
    assert [p.get_param("name", header="content-disposition") for p in parts] == ["file", "file"]
    assert [p.get_filename() for p in parts] == ["failing-run.json", "summary.json"]
    assert [p.get_payload(decode=True) for p in parts] == [b'{"http_req_failed": 0.12}', b'{"p95": 1234}']
    assert comment.path == "/rest/api/2/issue/CHG-1234/comment"
    assert result.detail["attachments"]["files"] == ["failing-run.json", "summary.json"]  # type: ignore[index]


async def test_attachments_glob_matching_nothing_fails_before_sending(tmp_path: Path, receiver: Receiver) -> None:
    step = jira_step(receiver.url, attachments="k6/*.json")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "no file matches attachments = 'k6/*.json'" in (result.reason or "")
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, "", "HTTP 401 unauthorized: the credentials were refused (check the token"),
        (403, '{"errorMessages": ["You do not have permission to comment"], "errors": {}}',
         "HTTP 403 forbidden: the credentials may not do this (the account may not do this on CHG-1234): "
         "You do not have permission to comment"),
        (404, '{"errorMessages": ["Issue does not exist or you do not have permission to see it."]}',
         "issue CHG-1234 does not exist or is not visible to this account"),
        (400, '{"errorMessages": [], "errors": {"body": "Comment body can not be empty!"}}',
         "body: Comment body can not be empty!"),
        (500, "<html>oops</html>", "HTTP 500 server error: (a 17-byte answer that is not a Jira error list; "
         "not quoted); it may have been stored"),
    ],
)
async def test_jira_errors(tmp_path: Path, receiver: Receiver, status: int, body: str, expected: str) -> None:
    receiver.answer(Reply(status, body, "application/json"))
    step = jira_step(receiver.url, body="CAB sign-off")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert expected in (result.reason or ""), result.reason
    assert len(receiver.requests) == 1
    assert TOKEN not in everything(result)


async def test_token_echoed_by_server_is_redacted(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer(Reply(400, json.dumps({"errorMessages": [f"bad token {TOKEN}"]}), "application/json"))
    step = jira_step(receiver.url, body="x")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "bad token [redacted]" in (result.reason or "")
    assert TOKEN not in everything(result)


async def test_hanging_jira_times_out(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer(Hang())
    step = jira_step(receiver.url, timeout=0.5, body="x")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "Jira (http://127.0.0.1:" in (result.reason or "")
    assert "no answer within 0.5s" in (result.reason or "")
    assert len(receiver.requests) == 1


async def test_connection_refused(tmp_path: Path, closed_port: int) -> None:
    step = jira_step(f"http://127.0.0.1:{closed_port}", body="x")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == f"could not connect to Jira (http://127.0.0.1:{closed_port}): connection refused"


async def test_missing_token_variable(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIRA_TOKEN")
    step = jira_step(receiver.url, body="x")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == "Jira credentials: environment variable JIRA_TOKEN is not set (referenced as ${env:JIRA_TOKEN})"
    assert receiver.requests == []


async def test_nothing_to_post_is_a_clear_failure(tmp_path: Path, receiver: Receiver) -> None:
    step = jira_step(receiver.url)
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "jira needs `body`, `template`, `report = true` or `attachments`" in (result.reason or "")


async def test_report_without_journal_is_a_clear_failure(tmp_path: Path, receiver: Receiver) -> None:
    step = jira_step(receiver.url, report=True)
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert "no journal" in (result.reason or "")
    assert receiver.requests == []
    assert "(the incident timeline, from the journal)" in await preview(step, make_ctx(tmp_path, step))


async def test_report_posts_the_timeline(tmp_path: Path, receiver: Receiver) -> None:
    report = pytest.importorskip("cockpit.report")
    journal = pytest.importorskip("cockpit.journal")
    path = tmp_path / "journal.jsonl"
    entries = [
        {"ts": 1_700_000_000.0, "type": "rollback_start", "session": "s1"},
        {"ts": 1_700_000_010.0, "type": "step_start", "session": "s1", "step": "horizon-pause"},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    expected = report.render_jira(journal.read_journal(str(path))).strip("\n")   # v2: wiki markup
    receiver.answer(Reply(201, CREATED, "application/json"))
    step = jira_step(receiver.url, body="Timeline:", report=True)
    result = await execute(step, make_ctx(tmp_path, step, journal_path=str(path)))
    assert result.ok, result.reason
    assert receiver.requests[0].json() == {"body": "Timeline:\n\n" + expected}


async def test_preview_lists_comment_and_files(tmp_path: Path, receiver: Receiver) -> None:
    (tmp_path / "k6").mkdir()
    (tmp_path / "k6" / "run.json").write_text("{}")
    step = jira_step(receiver.url, body="Rollback by {driver}", attachments="k6/*.json")
    text = await preview(step, make_ctx(tmp_path, step))
    assert "issue CHG-1234" in text
    assert "Attach: run.json" in text
    assert "Rollback by alice" in text
    assert TOKEN not in text
    assert receiver.requests == []


async def test_tls_is_verified_against_the_ca_bundle(tmp_path: Path, https_receiver: Receiver,
                                                     smtp_cert: tuple[Path, Path]) -> None:
    https_receiver.answer(Reply(201, CREATED, "application/json"))
    step = jira_step(https_receiver.url, body="x")
    untrusted = await execute(step, make_ctx(tmp_path, step))
    assert untrusted.state == "failed"
    assert "TLS handshake failed" in (untrusted.reason or "")
    assert https_receiver.requests == []

    (tmp_path / "ca.pem").write_bytes(smtp_cert[0].read_bytes())
    step = jira_step(https_receiver.url, body="x", ca_bundle="ca.pem")
    trusted = await execute(step, make_ctx(tmp_path, step))
    assert trusted.ok, trusted.reason
    assert https_receiver.requests[0].path == "/rest/api/2/issue/CHG-1234/comment"


async def test_missing_ca_bundle_is_a_clear_failure(tmp_path: Path, receiver: Receiver) -> None:
    step = jira_step(receiver.url, body="x", ca_bundle="nope.pem")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert (result.reason or "").startswith("cannot load the CA bundle nope.pem")
    assert receiver.requests == []


async def test_token_echoed_where_the_excerpt_ends_is_redacted(tmp_path: Path, receiver: Receiver) -> None:
    """Redacting after cutting the body to 500 characters left the token's first characters."""
    receiver.answer(Reply(500, "x" * 480 + f" Bearer {TOKEN} rejected", "text/html"))
    step = jira_step(receiver.url, body="done")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert TOKEN[:5] not in everything(result)
