"""The suite's misbehaving-server stand-in (tests/support/hostile.py) leaves nothing listening behind.

A CI run hung in a later test's teardown: threads of stopped hostile servers were still blocked in
``accept`` on an fd number that the Grafana receiver's socket had reused, took its connections (its
client saw the connection closed without an answer) and left its ``serve_forever`` blocked in
``accept`` for ever, so its ``shutdown`` never returned. Closing an fd does not wake a thread
blocked on it; a restarted call (the process stopped and continued) looks the number up again.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.hostile import running_hostile
from tests.support.poll import wait_until


def listening_ports() -> set[int]:
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {int(r[1].rsplit(":", 1)[1], 16) for r in rows if r[3] == "0A"}


def test_a_stopped_hostile_server_has_no_thread_left_in_accept_and_steals_no_connection() -> None:
    before = set(threading.enumerate())
    with running_hostile() as srv:
        mine = [t for t in threading.enumerate() if t.name == "hostile-accept" and t not in before]
        assert len(mine) == 1 and mine[0].is_alive()
        number = srv._sock.fileno() if srv._sock is not None else -1
        port = srv.port
    assert not mine[0].is_alive(), "the stopped server's accept thread is still blocked in accept"
    fresh = socket.socket()                               # the next socket, under the stopped server's fd number
    fresh.bind(("127.0.0.1", 0))
    fresh.listen(1)
    if fresh.fileno() == number:
        fresh.detach()
    else:
        os.dup2(fresh.fileno(), number)
        fresh.close()
    with socket.socket(fileno=number) as listener:        # blocking, as the old socket was
        # stopped and continued, the process restarts every blocked call: a thread still blocked in accept
        # on the closed socket's fd number would now accept on this one (seen so with the old stop)
        subprocess.run(["sh", "-c", f"kill -STOP {os.getpid()}; sleep 0.1; kill -CONT {os.getpid()}"], check=True)
        wait_until(lambda: port not in listening_ports(), timeout=10, what="the old socket to be released")
        peer = f"import socket; socket.create_connection(('127.0.0.1', {listener.getsockname()[1]})).close()"
        subprocess.run([sys.executable, "-c", peer], check=True)   # meanwhile a leftover thread could accept
        assert select.select([listener], [], [], 10.0)[0], "a leftover accept thread took the connection"
        conn, _ = listener.accept()
        conn.close()
