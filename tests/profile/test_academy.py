"""profiles/academy.toml carries the seed's runbook in full, with the corrections the design calls for."""

from __future__ import annotations

import pytest

from cockpit.profile.keys import reserved_for
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from tests.conftest import REPO


@pytest.fixture(scope="module")
def academy() -> Profile:
    return load_profile(REPO / "profiles" / "academy.toml", environ={})


def test_every_step_has_a_free_key_and_a_note(academy: Profile) -> None:
    keys = [s.key for s in academy.steps]
    assert all(keys) and len(set(keys)) == len(keys)
    assert [k for k in keys if k and reserved_for(k)] == []
    assert [s.id for s in academy.steps if not s.note] == []


def test_seed_controls_are_steps(academy: Profile) -> None:
    cmd = {s.id: academy.expand(s.command or "") for s in academy.steps}
    assert "optimize:clear" in cmd["clear-caches"] and "communities:cache --all" in cmd["warm-communities"]
    assert cmd["schema-dump"].endswith("php artisan schema:dump")
    pause = academy.step("horizon-pause")
    assert pause.hosts == "workers" and pause.run == "parallel" and len(academy.hosts["workers"]) > 1
    assert (
        pause.verify is not None
        and pause.verify.exit_status == 1
        and "horizon:status" in pause.verify.command
    )
    cont = academy.step("horizon-continue")
    assert "horizon:continue" in cmd["horizon-continue"] and cont.verify and cont.verify.exit_status == 0
    assert "OCTANE_ENABLED=false" in cmd["fpm-flag"]
    assert "systemctl reload" in cmd["fpm-reload"]
    octane = academy.step("octane-stop")
    assert "octane:stop" in cmd["octane-stop"] and "octane:clear" not in cmd["octane-stop"]
    assert octane.verify is not None and octane.verify.exit_status != 0


def test_migrate_rollback_is_guarded(academy: Profile) -> None:
    m = academy.step("migrate-rollback")
    assert (m.destructive, m.run, m.confirm, m.hosts, m.approve) == (True, "once", "type", "console", True)
    assert "migrate:rollback --path=database/migrations/contract --force" in (m.command or "")
    preview = academy.expand(m.preview or "")
    assert "migrate:status --path=database/migrations/expand --path=database/migrations/contract" in preview
    assert "--pretend" in preview
    assert "horizon-pause" in m.after


def test_validation_checklist(academy: Profile) -> None:
    checks = {c.id: c for c in academy.checks}
    assert str(checks["queues"].condition) == "< 100"
    assert {"feed", "notifications", "search-index"} <= set(academy.signal("queues").expected_workers)
    assert ":delayed" in (academy.signal("queues").query or "") and ":reserved" in (
        academy.signal("queues").query or ""
    )
    assert (str(checks["http_5xx"].condition), checks["http_5xx"].within) == ("< 0.001", 300.0)
    assert (str(checks["healthz"].condition), checks["healthz"].consecutive) == ("== 200", 2)
    assert str(checks["ingestion_lag"].condition) == "< 60"


def test_communication_and_post_rollback(academy: Profile) -> None:
    kinds = {s.id: s.kind for s in academy.steps}
    assert kinds["announce-start"] == kinds["announce-end"] == "slack"
    start = academy.step("announce-start")
    assert start.slack is not None and start.slack.webhook == "${env:SLACK_WEBHOOK_URL}"
    assert any("Rollback readiness" in t for t in start.slack.dashboards)
    assert any("Datadog" in t for t in start.slack.dashboards)
    email = academy.step("cs-email").email
    assert email is not None and email.template.endswith("communication-template.md")
    assert (REPO / "profiles" / email.template).is_file()
    assert kinds["cab-signoff"] == kinds["k6-artefacts"] == "jira"
    assert "compatibility_audit.sh --mode=post-rollback" in (academy.step("compat-audit").command or "")
    assert kinds["followup-loadtest"] == kinds["deliverables-summary"] == "manual"
