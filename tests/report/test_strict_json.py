"""The JSON report is strict JSON whatever a journal holds (found by the journal fuzz test)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.conftest import cockpit


def test_an_undeclared_non_finite_field_is_null_in_the_json_report(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    t = 1_790_000_000.0
    lines = [
        {"ts": t, "session": "s", "type": "session_start", "user": "a", "host": "b", "pid": 1, "mode": "driver",
         "version": "0.1", "profile": "p"},
        {"ts": t + 1, "session": "s", "type": "rollback_start"},
        # `weight` is declared by no entry kind: the reader keeps it as it is
        {"ts": t + 2, "session": "s", "type": "approval_refused", "request": "r1", "step": "x", "by": "c@d",
         "weight": "HUGE", "reason": "no"},
    ]
    # 1e999 is valid JSON syntax that Python reads as inf (how the fuzz test met it)
    journal.write_text("".join(json.dumps(e) + "\n" for e in lines).replace('"HUGE"', "1e999"))
    done = cockpit("report", str(journal), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    approvals = data["summary"]["approvals"]
    assert approvals and approvals[0]["weight"] is None
    assert approvals[0]["by"] == "c@d"
