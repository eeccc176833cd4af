"""The suite's misbehaving-server stand-in (tests/support/hostile.py) leaves nothing listening behind.

A CI run hung in a later test's teardown: threads of stopped hostile servers were still blocked in
``accept`` on an fd number that the Grafana receiver's socket had reused, took its connections (its
client saw the connection closed without an answer) and left its ``serve_forever`` blocked in
``accept`` for ever, so its ``shutdown`` never returned.
"""

from __future__ import annotations

import socket
import threading

from tests.support.hostile import running_hostile


def test_a_stopped_hostile_server_has_no_thread_left_in_accept_and_steals_no_connection() -> None:
    before = set(threading.enumerate())
    with running_hostile():
        mine = [t for t in threading.enumerate() if t.name == "hostile-accept" and t not in before]
        assert len(mine) == 1 and mine[0].is_alive()
    assert not mine[0].is_alive(), "the stopped server's accept thread is still blocked in accept"
    with socket.socket() as listener:                     # likely the fd number the hostile server had
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(10.0)
        with socket.create_connection(listener.getsockname()[:2], timeout=10.0):
            conn, _ = listener.accept()                  # a leftover accept thread would have taken it
            conn.close()
