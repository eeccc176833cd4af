"""Markup injection into the incident record: a Prometheus label value holding newlines and
Markdown/Jira markup reaches a check reason, the journal, `cockpit report` and the CAB comment
posted to Jira (wiki markup for API v2, ADF for v3). It must show as text, on its own line:
no forged "rollback ended … met" line, no image, no link, no mention."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.profile.load import load_profile
from cockpit.profile.model import JiraSpec, StepSpec
from cockpit.steps import execute
from tests.steps.conftest import make_ctx
from tests.steps.receiver import Reply, start_receiver, stop_receiver
from tests.support.exporter import Exporter
from tests.support.prometheus import TestPrometheus

# In the exposition format `\n` inside a label value is a newline: Prometheus hands it back as one.
FORGED = ("feed\\n- 23:59:59 **rollback ended** after 1m00s — **met**\\n"
          "![b](http://evil.example/beacon.png) [click here](http://evil.example/login) "
          "[~admin] {code}x{code} !beacon.png! [text|http://evil.example] <!channel> <http://evil.example|ok> "
          "| cell | <img src=x onerror=alert(1)>")

PROFILE = """
[cockpit]
name = "injection"
environment = "drill"
rto = "15m"

[hosts]
web = ["web-1"]

[sources.prom]
kind = "prometheus"
url = "{prom}"
interval = "250ms"
timeout = "2s"

[[signal]]
id = "queues"
source = "prom"
query = "sum by (queue) (inj_queue_depth)"

[[check]]
id = "queues"
signal = "queues"
condition = "< 100"

[[step]]
id = "start"
title = "Start"
phase = "rollback"
kind = "local"
command = "true"
confirm = "none"
starts_rollback = true
"""


def _record(tmp_path: Path, exporter: Exporter, prom: TestPrometheus) -> Path:
    exporter.set("inj_queue_depth", 500, queue=FORGED)
    prom.wait_for("count(inj_queue_depth) >= 1")
    path = tmp_path / "inj.toml"
    path.write_text(PROFILE.format(prom=prom.url))

    async def run() -> Path:
        c = Controller(load_profile(path))
        await c.start(connect=False, poll=True)
        try:
            async with asyncio.timeout(30):
                while c.session.checks.get("queues") != "failing":
                    await asyncio.sleep(0.05)
            assert c.journal is not None
            return Path(c.journal.path)
        finally:
            await c.stop()

    return asyncio.run(run())


def _lines_starting_a_record(text: str) -> list[str]:
    """Lines that read as a record of their own: bullets and table rows."""
    return [line for line in text.splitlines() if re.match(r"^\s*([-*#|]|h\d\.)", line)]


def test_a_label_value_cannot_forge_lines_links_or_images(tmp_path: Path, exporter: Exporter,
                                                          prom: TestPrometheus) -> None:
    journal = _record(tmp_path, exporter, prom)
    transition = next(e for e in read_journal(journal) if e["type"] == "check_transition" and e["to"] == "failing")
    assert "rollback ended" in transition["reason"]        # the hostile text did reach the record

    rep = subprocess.run([sys.executable, "-m", "cockpit", "report", str(journal)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert rep.returncode == 0, rep.stderr
    md = rep.stdout
    forged = [line for line in _lines_starting_a_record(md) if "rollback ended" in line]
    # only inside the check's own lines: its transition, verdict and peak, and their evidence sub-bullets
    assert all("queues" in line or line.startswith("  - values: ") for line in forged), "\n".join(forged)
    assert not re.search(r"(?<!\\)!\[", md) and "](http" not in md.replace("\\](", "")
    assert not re.search(r"(?<!\\)<(img|http|!channel)", md)
    cells = 0
    for line in md.splitlines():
        if line.startswith("|---"):   # a table row keeps the cells of its table's header
            continue
        if line.startswith("| "):
            n = len(re.findall(r"(?<!\\)\|", line))
            cells = cells or n
            assert n == cells, line
        else:
            cells = 0

    receiver = start_receiver()
    try:
        for api in (2, 3):
            receiver.answer(Reply(201, '{"id": "1"}', "application/json"))
            step = StepSpec(id="cab", title="CAB", phase="communicate", kind="jira", timeout=5.0,
                            jira=JiraSpec(url=receiver.url, issue="CHG-1", token="literal-token-1234",
                                          api=api, report=True))
            result = asyncio.run(execute(step, make_ctx(tmp_path, step, journal_path=str(journal))))
            assert result.ok, result.reason
        v2 = receiver.requests[0].json()["body"]
        v3 = receiver.requests[1].json()["body"]
    finally:
        stop_receiver(receiver)

    # API v2: Jira wiki markup; every markup character of the value is escaped
    assert "h2. Rollback timeline" in v2
    forged = [line for line in _lines_starting_a_record(v2) if "rollback ended" in line]
    assert all("queues" in line or line.startswith("** values: ") for line in forged), "\n".join(forged)
    for pattern in (r"(?<!\\)\[~admin", r"(?<!\\)!beacon", r"(?<!\\)\{code", r"(?<!\\)\[text\\?\|",
                    r"(?<!\\)\[click"):
        assert not re.search(pattern, v2), (pattern, v2)

    # API v3: ADF; the value is one text node, no hard break inside it, no link mark anywhere
    texts = [node for para in v3["content"] for node in para["content"]]
    assert not any(node.get("marks") for node in texts)
    carrying = [n["text"] for n in texts if n["type"] == "text" and "rollback ended" in n["text"]]
    assert carrying and all("queues" in t or t.startswith("  - values: ") for t in carrying), "\n".join(carrying)
    assert {n["type"] for n in texts} <= {"text", "hardBreak"}   # no mention, media, inlineCard node
    assert '"marks"' not in json.dumps(v3)
