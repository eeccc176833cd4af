"""The bundled profiles' communication and post-rollback steps render, and the Academy announcement
reaches a Slack receiver in the documented shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.steps import execute, preview
from cockpit.steps.context import StepContext
from tests.conftest import REPO
from tests.steps.conftest import FACTS
from tests.steps.receiver import Receiver

ENV = {
    "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T1/B2/SeCrEtHoOk",
    "SMTP_USER": "cockpit",
    "SMTP_PASSWORD": "smtp-Pa55word",
    "JIRA_USER": "sre@academy.example",
    "JIRA_TOKEN": "jira-ToKeN-0123456789",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


def load(name: str) -> Profile:
    return load_profile(REPO / "profiles" / name)


@pytest.mark.parametrize("name", ["academy.toml", "drill.toml"])
async def test_every_non_ssh_step_previews(name: str, env: None, tmp_path: Path) -> None:
    profile = load(name)
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"ts": 1_700_000_000.0, "type": "rollback_start", "session": "s"}) + "\n")
    ctx = StepContext(profile, FACTS, journal_path=str(journal))
    checked = 0
    for step in profile.steps:
        if step.kind == "ssh":
            continue
        text = await preview(step, ctx)
        checked += 1
        if step.jira is not None and step.jira.attachments:
            # the artefacts are copied next to the profile on the bastion, not shipped
            assert text.startswith("cannot preview: no file matches"), text
            continue
        assert not text.startswith("cannot preview"), f"{step.id}: {text}"
        for secret in ENV.values():
            if len(secret) > 10:
                assert secret not in text
    assert checked >= 3


async def test_academy_announcement_reaches_slack(env: None, receiver: Receiver,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.url + "/services/T1/B2/SeCrEtHoOk")
    profile = load("academy.toml")
    step = profile.step("announce-start")
    result = await execute(step, StepContext(profile, FACTS))
    assert result.ok, result.reason
    (req,) = receiver.requests
    assert req.path == "/services/T1/B2/SeCrEtHoOk"
    body = req.json()
    assert body["text"].startswith(":rotating_light: Rollback of academy-drill (drill) started at 2023-11-14")
    links = [e["text"] for b in body["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any("from=1700000000000&amp;to=1700000600000" in t for t in links)
    assert "SeCrEtHoOk" not in repr(result)
