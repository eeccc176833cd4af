"""#17 on a real bastion: the driver is one Unix user, `cockpit serve` another member of the group.

The served screen follows the other user's driver from the shared state directory, and
the visit reaches the incident's journal through the driver (the server's user cannot
write it), with who ran the server.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.multiuser.conftest import Bastion, agent, make_bastion
from tests.serve.conftest import Page, wait_for
from tests.support.users import TestUsers, unix_users


@pytest.fixture(scope="module")
def serve_users() -> Iterator[TestUsers]:
    with unix_users("ckms", 2) as u:
        yield u


@pytest.fixture
def shared(serve_users: TestUsers) -> Iterator[Bastion]:
    with make_bastion(serve_users, "ckms-") as made:
        assert (made.state / "visits").is_dir()       # setup-bastion makes the visits directory too
        yield made


def test_a_visit_to_another_users_server_is_journalled_by_the_driver(shared: Bastion, pages: Any) -> None:
    a, b = shared.users.names
    driver = agent(shared, a, "--no-poll")
    driver.find(lambda e: e["kind"] == "ready" and e["is_driver"], what="the driver")
    server = shared.popen(b, "serve", "--profile", str(shared.profile), "--port", "0")
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=\S+", url), url
        page: Page = pages()
        page.open(url)
        page.wait_text(rf"lock: bastion-wide, {a}@")     # b's screen shows a driving
        n = driver.send(op="fire", step="prepare", confirmation="drill", yes=True)
        driver.find(lambda e: e["kind"] == "result" and e.get("step") == "prepare", after=n, what="prepare")
        page.wait_text(rf"prepared by {a}|ok [\d.]+s\s+(\S+\s+)?Prepare")

        def joined() -> list[dict[str, Any]]:
            out = []
            for j in (shared.state / "journals").glob("*.jsonl"):
                out += [e for e in map(json.loads, j.read_text().splitlines()) if e["type"] == "observer_joined"]
            return out

        visit = wait_for(joined, 15, "the visit in the journal")[0]
        assert visit["by"].startswith(f"{b}@") and visit["remote"] == "127.0.0.1"
        token = url.split("token=", 1)[1]
        for p in shared.state.rglob("*"):
            if p.is_file():
                assert token not in p.read_text(errors="replace"), p
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        driver.send(op="quit")
        driver.close()
