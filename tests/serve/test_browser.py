"""#17: `cockpit serve` in a real headless Chromium: the live observer view, the token, the cap, read-only.

Each test starts a real driver (the agent), `cockpit serve` as a subprocess, and
Debian's Chromium through Playwright; what the browser shows is read from xterm's
own buffer in the page (see conftest).
"""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

from tests.serve.conftest import Page, Served, Stage, wait_for, ws_status

ACTIONS = {"step_start", "step_end", "rollback_start", "rollback_end", "manual_tick", "guard_refused",
           "guard_override", "approval_granted", "approval_refused", "handoff", "session_resume"}


def visits(stage: Stage, kind: str) -> list[dict[str, Any]]:
    return [e for e in stage.entries() if e["type"] == kind]


def test_the_browser_shows_the_drivers_live_step_and_the_visit_is_journalled(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver = driver_factory()
    served: Served = serve_factory()
    page: Page = pages()
    response = page.open(served.url)
    assert response.status == 200
    page.wait_text(r"serve-test")                       # the cockpit's header, drawn by xterm
    driver.fire("slow")
    text = page.wait_text(r"tick-\d+", timeout=15)       # the driver's live output, from its feed
    assert "Long step" in text
    # the token left the address bar once the page loaded (a shared screen does not show it)
    assert "token" not in page.page.url
    joined = wait_for(lambda: visits(stage, "observer_joined"), 10, "the visit in the journal")
    assert joined[0]["remote"] == "127.0.0.1"
    assert "HeadlessChrome" in joined[0]["user_agent"]
    assert joined[0]["by"].startswith("root@") or "@" in joined[0]["by"]
    page.close()
    left = wait_for(lambda: visits(stage, "observer_left"), 15, "the end of the visit in the journal")
    assert left[0]["visit"] == joined[0]["visit"] and left[0]["duration"] > 0
    served.stop()
    # the token is in the one printed URL only: never in the journal, the state files or the logs
    assert served.token not in stage.all_text()
    assert served.token not in served.stderr_text()
    assert "joined from 127.0.0.1" in served.stderr_text()


def test_without_the_token_everything_is_refused(stage: Stage, serve_factory: Any, pages: Any) -> None:
    served: Served = serve_factory()
    for path in ("/", "/?token=wrong", "/ws", "/static/js/textual.js", f"/?token={served.token[:-1]}"):
        status, body, _ = served.get(path)
        assert status == 403, (path, status)
    assert "access token" in served.get("/")[1]
    status, body, headers = served.get(f"/?token={served.token}")
    assert status == 200 and "textual.js" in body
    assert "HttpOnly" in headers.get("Set-Cookie", "") and "SameSite=Strict" in headers.get("Set-Cookie", "")
    # the websocket needs it too (the cookie the page got, or nothing)
    assert served.get("/ws", {"Cookie": "cockpit_serve=nope"})[0] == 403
    # the cookie opens it; another site's page cannot open it with the visitor's cookie (cross-site hijacking)
    ws = served.base.replace("http://", "ws://") + "ws"
    cookie = {"Cookie": f"cockpit_serve={served.token}"}
    assert ws_status(ws, {**cookie, "Origin": served.base.rstrip("/")}) == 101
    assert ws_status(ws, {**cookie, "Origin": "http://evil.example"}) == 403
    assert ws_status(ws, {"Origin": served.base.rstrip("/")}) == 403
    page: Page = pages()
    assert page.open(served.base).status == 403
    assert "access refused" in page.page.content()
    assert "refused GET / from 127.0.0.1" in wait_for(served.stderr_text, 5, "the refusal logged")
    assert served.token not in served.stderr_text()


def test_the_visitor_cap_refuses_the_excess_with_a_clear_page(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver_factory()
    served: Served = serve_factory("--max-visitors", "1")
    first: Page = pages()
    first.open(served.url)
    first.wait_text(r"serve-test")
    second: Page = pages()
    response = second.open(served.url)
    assert response.status == 503
    assert "too many visitors" in second.page.content() and "the limit is 1" in second.page.content()
    # a websocket beyond the cap is refused too, even with the right token
    ws = served.base.replace("http://", "ws://") + "ws"
    assert ws_status(ws, {"Cookie": f"cockpit_serve={served.token}"}) == 503
    first.close()
    third: Page = pages()
    wait_for(lambda: third.open(served.url).status == 200, 15, "a free place once the first visitor left")
    third.wait_text(r"serve-test")


def test_keys_that_fire_steps_do_nothing_in_the_browser(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver = driver_factory()
    served: Served = serve_factory()
    page: Page = pages()
    page.open(served.url)
    page.wait_text(r"READ-ONLY")
    before = [e["type"] for e in stage.entries()]
    kb = page.page.keyboard
    page.page.click("#terminal")
    kb.press("r")                      # start the RTO clock: the keys reach the visitor's app, which refuses
    page.wait_text(r"nothing can be fired", timeout=10)
    for key in ("Enter", "r", "R", "e", "E", "space", "t", "x", "c", "s", "Enter", "y", "Enter"):
        kb.press(key if len(key) == 1 or key in ("Enter",) else "Space")
    kb.press("Control+p")              # the command palette: fire / tick / take over by name
    kb.type("Long step")
    kb.press("Enter")
    kb.press("Enter")
    kb.type("drill")
    kb.press("Enter")
    kb.press("Control+p")
    kb.type("Take over")
    kb.press("Enter")
    kb.press("Enter")
    time_to_settle = wait_for(served.stderr_text, 5, "the server's log")
    assert "joined" in time_to_settle
    n = driver.send(op="state")
    state = driver.find(lambda e: e["kind"] == "state", after=n, what="the driver's state")
    assert state["is_driver"] and state["rollback_started"] is None
    after = [e["type"] for e in stage.entries()]
    new = after[len(before):]
    assert not [t for t in new if t in ACTIONS], new
    assert not page.closed(), served.stderr_text()   # a visitor process's error is echoed there
    # close whatever dialog the keys opened (the app may still be working through the keys)
    def main_screen() -> bool:
        text = page.screen_text()
        if "PREPARE" in text and "🔎" not in text and "Escape closes" not in text:
            return True
        kb.press("Escape")
        return False

    wait_for(main_screen, 20, "the main screen again", interval=1.0)
    n = driver.fire("prepare")                  # the visitor's screen is still live after all that
    done = driver.find(lambda e: e["kind"] in ("result", "error"), after=n, what="the driver's prepare")
    assert done.get("state") == "ok", done
    page.wait_text(r"ok [\d.]+s\s+(\S+\s+)?Prepare \(local\)|prepared by", timeout=30)


def test_driver_gone_is_shown_the_server_stays_up_and_follows_the_next_driver(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver = driver_factory()
    served: Served = serve_factory()
    page: Page = pages()
    page.open(served.url)
    page.wait_text(r"serve-test")
    driver.fire("start")
    page.wait_text(r"RTO \d", timeout=15)
    driver.kill()                                   # kill -9: the session is left attached, the lock free
    page.wait_text(r"driver gone", timeout=15)
    assert served.proc.poll() is None
    other: Page = pages()                           # the server still serves new visitors
    other.open(served.url)
    other.wait_text(r"driver gone", timeout=20)
    again = driver_factory()                        # a new driver resumes the incident
    n = again.fire("prepare")
    again.find(lambda e: e["kind"] == "result" and e.get("step") == "prepare", after=n, what="prepare done")
    page.wait_text(r"prepared by", timeout=15)
    # the header no longer says the driver is gone (a notice of it may still be fading out)
    try:
        wait_for(lambda: "driver gone" not in "\n".join(page.screen_text().splitlines()[:3]), 15,
                 "the new driver to be seen")
    except AssertionError:
        raise AssertionError(page.screen_text()) from None
    assert served.proc.poll() is None


def test_an_idle_visitor_is_disconnected_and_its_visit_ends_as_idle(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver_factory()
    served: Served = serve_factory("--idle-timeout", "3")
    page: Page = pages()
    page.open(served.url)
    page.wait_text(r"serve-test")
    wait_for(page.closed, 15, "the idle visitor to be disconnected")
    assert page.page.is_visible("#closed")       # the page says the session ended and how to come back
    assert "idle too long" in page.page.inner_text("#closed")
    left = wait_for(lambda: visits(stage, "observer_left"), 15, "the visit's end in the journal")
    assert left[0]["reason"] == "idle"
    assert json.dumps(left)  # plain JSON values


def _visitor_processes(root: int) -> list[int]:
    """Every process under ``root`` running a visitor's screen (``cockpit.tui.served``)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            todo.append(k)
            try:
                if b"cockpit.tui.served" in Path(f"/proc/{k}/cmdline").read_bytes():
                    found.append(k)
            except OSError:
                pass
    return found


def test_a_hung_or_killed_visitor_does_not_affect_the_others_or_the_driver(
        stage: Stage, driver_factory: Any, serve_factory: Any, pages: Any) -> None:
    driver = driver_factory()
    served: Served = serve_factory()
    # a visitor that connects and then never reads a byte (a frozen laptop)
    host, port = served.base.split("//")[1].rstrip("/").split(":")
    hung = socket.create_connection((host, int(port)), timeout=5)
    hung.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hung.sendall((f"GET /ws?width=200&height=60 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  f"Sec-WebSocket-Version: 13\r\nCookie: cockpit_serve={served.token}\r\n\r\n").encode())
    hung_proc = wait_for(lambda: _visitor_processes(served.proc.pid), 20, "the hung visitor's process")
    victim: Page = pages()
    victim.open(served.url)
    victim.wait_text(r"serve-test")
    victims = wait_for(lambda: set(_visitor_processes(served.proc.pid)) - set(hung_proc), 20, "the victim's process")
    watcher: Page = pages()
    watcher.open(served.url)
    watcher.wait_text(r"serve-test")
    for pid in victims:
        os.kill(pid, signal.SIGKILL)              # one visitor's screen dies
    wait_for(victim.closed, 20, "the killed visitor's page to say its session ended")
    driver.fire("slow")
    watcher.wait_text(r"tick-\d+", timeout=20)   # the other visitor follows on, live
    n = driver.send(op="state")
    assert driver.find(lambda e: e["kind"] == "state", after=n, what="the driver")["is_driver"]
    assert served.proc.poll() is None
    assert not watcher.closed()
    fresh: Page = pages()                         # and the server takes new visitors
    fresh.open(served.url)
    fresh.wait_text(r"tick-\d+|Long step", timeout=20)
    hung.close()
