"""The report collapses a check flapping back and forth into one line with its count."""

from __future__ import annotations

from typing import Any

from cockpit.report import render_markdown

T = 1_764_324_000.0


def entries() -> list[dict[str, Any]]:
    e: list[dict[str, Any]] = [
        {"type": "session_start", "ts": T, "session": "s1", "profile": "p", "environment": "drill",
         "rto_budget": 900, "mode": "driver", "user": "deploy", "host": "bastion"},
        {"type": "rollback_start", "ts": T + 1, "by": "deploy@bastion"},
    ]
    status = "failing"
    for i in range(12):  # healthz flaps every 10 s for two minutes
        new = "ok" if status == "failing" else "failing"
        e.append({"type": "check_transition", "ts": T + 10 + 10 * i, "check": "healthz", "from": status,
                  "to": new, "reason": "200 twice" if new == "ok" else "HTTP 500"})
        status = new
    e.append({"type": "check_transition", "ts": T + 55, "check": "queues", "from": "failing", "to": "ok",
              "reason": "all < 100"})
    e.append({"type": "check_transition", "ts": T + 900, "check": "healthz", "from": status, "to": "ok",
              "reason": "200 twice"})
    return e


def test_flapping_check_is_one_line_with_its_count() -> None:
    md = render_markdown(entries())
    checks = md.split("### Checks")[1].split("###")[0]
    healthz = [line for line in checks.splitlines() if "`healthz`" in line]
    assert len(healthz) == 2, checks  # the flapping run, then the later single transition
    assert "12 flaps between" in healthz[0], healthz[0]
    assert "(failing / ok)" in healthz[0]
    assert "flaps" not in healthz[1] and "→ ok" in healthz[1]
    assert sum("`queues`" in line for line in checks.splitlines()) == 1  # a lone transition stays as it is
    timeline = md.split("### Timeline (UTC)")[1]
    assert sum("`healthz`" in line for line in timeline.splitlines()) == 2, timeline
    assert "12 flaps" in timeline
