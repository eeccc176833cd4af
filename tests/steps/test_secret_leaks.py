"""Secrets must not leak through their parts: real `cockpit run` / `cockpit report` subprocesses
against hostile HTTP servers on loopback that echo what they were sent, and a local step that
folds a token across lines. Every output (stdout, stderr, the journal file, the report, what
was posted to Jira) is searched for every piece of every secret."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import pytest

from cockpit.state import journals_dir
from tests.engine.conftest import cockpit, profile_text
from tests.steps.receiver import Echo, Receiver, Recorded

# Slack-shaped: the last path segment is the secret; Jira: the token and the basic-auth user
SLACK_TOKEN = "Xq7pL2mZ9vR4tW8yK3nB6cD1"
JIRA_TOKEN = "ATATT3xFfGF0jira+tok/en=9d8c7b6a5Z"
JIRA_USER = "cab-bot@example.test"
FOLD_TOKEN = "fOLd9Tok3nAbCdEfGhIjKlMnOpQrStUvWxYz0123"


def windows(secret: str, size: int) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def b64_pieces(secret: str) -> set[str]:
    """The base64 of ``secret`` at the 3 byte alignments (what a Basic header or a blob holds)."""
    out = set()
    for k in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * k + secret.encode()).decode()
            out.add(text[3:-3])
    return out


def pieces(secret: str, size: int = 6) -> set[str]:
    """Every recognisable part: any `size`-character window, percent-encoded and base64 forms."""
    return windows(secret, size) | windows(quote(secret, safe=""), size) | b64_pieces(secret)


def assert_clean(where: str, text: str, secrets: Iterable[str], size: int = 6) -> None:
    for secret in secrets:
        found = sorted(p for p in pieces(secret, size) if p in text)
        assert not found, f"{where} shows pieces of a secret: {found}\n--- {where} ---\n{text[-3000:]}"


def slack_404(req: Recorded) -> str:
    return f"<html><body>Cannot POST {req.path}</body></html>"


def jira_echo(req: Recorded) -> str:
    """A Jira (or a proxy in front of it) that quotes the Authorization header and the URL."""
    return json.dumps({"errorMessages": [f"Bad credentials: {req.headers.get('authorization')}",
                                          f"at {req.path} [link](http://evil.example) <!channel>"],
                       "errors": {"comment": f"Authorization={req.headers.get('authorization')}"}})


STEPS = """
[[step]]
id = "announce"
title = "Announce"
phase = "communicate"
kind = "slack"
confirm = "none"
timeout = "5s"
[step.slack]
webhook = "${{env:SLACK_WEBHOOK}}"
text = "Rollback of {{profile}}"

[[step]]
id = "folded"
title = "Prints the token folded across lines"
phase = "validate"
kind = "local"
confirm = "none"
command = "printf 'token=%s end\\\\n' \\"$FOLD_TOKEN\\" | fold -w 12"

[[step]]
id = "cab"
title = "CAB comment"
phase = "communicate"
kind = "jira"
confirm = "none"
timeout = "5s"
[step.jira]
url = "{jira}"
issue = "CHG-7"
token = "${{env:JIRA_TOKEN}}"
user = "${{env:JIRA_USER}}"
report = true
"""

EXTRA = """
[sources.api]
kind = "http"
url = "http://127.0.0.1:9/healthz"
headers = {{ Authorization = "Bearer ${{env:FOLD_TOKEN}}" }}
"""


@pytest.fixture
def leak_profile(tmp_path: Path, marker_dir: Path, receiver: Receiver) -> Path:
    path = tmp_path / "leaks.toml"
    steps = STEPS.format(jira=receiver.url)
    path.write_text(profile_text(ssh=None, marker_dir=marker_dir, steps=steps, extra=EXTRA.format()))
    return path


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


def _env(receiver: Receiver) -> dict[str, str]:
    return {"SLACK_WEBHOOK": f"{receiver.url}/services/T0AB12CD3/B0EF45GH6/{SLACK_TOKEN}",
            "JIRA_TOKEN": JIRA_TOKEN, "JIRA_USER": JIRA_USER, "FOLD_TOKEN": FOLD_TOKEN}


def _journal() -> Path:
    files = sorted(journals_dir().glob("*.jsonl"))
    assert len(files) == 1, files
    return files[0]


def test_slack_404_echoing_the_webhook_path_leaks_nothing(leak_profile: Path, receiver: Receiver) -> None:
    receiver.answer(Echo(404, slack_404, "text/html"))
    r = cockpit("run", "announce", "--profile", str(leak_profile), "--yes", env=_env(receiver))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert receiver.requests[0].path.endswith(SLACK_TOKEN)   # the server did get (and echo) the secret
    assert "HTTP 404" in r.stdout + r.stderr
    assert_clean("stdout+stderr", r.stdout + r.stderr, [SLACK_TOKEN])
    journal = _journal().read_text()
    assert_clean("journal", journal, [SLACK_TOKEN])
    end = [json.loads(line) for line in journal.splitlines() if '"step_end"' in line][-1]
    assert "Cannot POST" not in json.dumps(end)   # a body that is no Slack error code is never quoted
    rep = cockpit("report", str(_journal()))
    assert rep.returncode == 0, rep.stderr
    assert "HTTP 404" in rep.stdout
    assert_clean("report", rep.stdout, [SLACK_TOKEN])
    rep = cockpit("report", str(_journal()), "--format", "json")
    assert rep.returncode == 0 and "HTTP 404" in rep.stdout, rep.stderr
    assert_clean("JSON report", rep.stdout, [SLACK_TOKEN])


def test_jira_echoing_basic_auth_leaks_nothing_and_its_report_comment_is_clean(
        leak_profile: Path, receiver: Receiver) -> None:
    env = _env(receiver)
    receiver.answer(Echo(404, slack_404, "text/html"),                       # announce fails, journalled
                    Echo(401, jira_echo, "application/json"),                # cab fails echoing the header
                    Echo(201, lambda req: json.dumps({"id": "10001", "body": req.body.decode()}),
                         "application/json"))                                # cab again: posts the report
    assert cockpit("run", "announce", "--profile", str(leak_profile), "--yes", env=env).returncode == 1
    r = cockpit("run", "cab", "--profile", str(leak_profile), "--yes", env=env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    auth = receiver.requests[1].headers["authorization"]
    assert auth == "Basic " + base64.b64encode(f"{JIRA_USER}:{JIRA_TOKEN}".encode()).decode()
    assert "HTTP 401" in r.stdout + r.stderr
    everything = [SLACK_TOKEN, JIRA_TOKEN, auth.split()[1]]
    assert_clean("cab stdout+stderr", r.stdout + r.stderr, everything)
    r = cockpit("run", "cab", "--profile", str(leak_profile), "--yes", env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    posted = receiver.requests[2].json()["body"]
    assert "Rollback timeline" in posted and "HTTP 401" in posted
    assert_clean("posted CAB comment", posted, everything)
    assert_clean("journal", _journal().read_text(), everything)
    rep = cockpit("report", str(_journal()))
    assert_clean("report", rep.stdout, everything)


def test_a_token_folded_across_lines_never_reaches_the_journal_or_the_report(
        leak_profile: Path, receiver: Receiver) -> None:
    r = cockpit("run", "folded", "--profile", str(leak_profile), "--yes", env=_env(receiver))
    assert r.returncode == 0, (r.stdout, r.stderr)
    journal = _journal().read_text()
    end = [json.loads(line) for line in journal.splitlines() if '"step_end"' in line][-1]
    tail = end["hosts"][0]["tail"]
    assert tail and tail[0].startswith("token="), tail
    assert_clean("journal", journal, [FOLD_TOKEN], size=4)
    rep = cockpit("report", str(_journal()))
    assert_clean("report", rep.stdout + json.dumps(end), [FOLD_TOKEN], size=4)
    # streamed live, line by line: only a piece shorter than 8 characters at a line's edge can
    # show (the documented limit); every whole line of the token is hidden
    assert_clean("stdout", r.stdout + r.stderr, [FOLD_TOKEN], size=8)
    shown = re.findall(r"[A-Za-z0-9]{4,}", r.stdout)
    assert not [s for s in shown if s in FOLD_TOKEN and len(s) >= 8], shown
