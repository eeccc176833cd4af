"""``cockpit abandon --profile P [--reason TEXT]``: close the profile's open session for good.

A session stays open while its rollback has not ended (or for 12 h after its
last action) and every driver resumes it. When that session is over in fact
(the incident was handled another way, or its journal is damaged), this closes
it: it appends a ``session_abandoned`` entry (who, why) to its journal, and the
next driver starts a new journal. Nothing is deleted. What the session still
holds open (Alertmanager silences, the Grafana region: `cockpit.held`) is
closed first, each close journalled (or its failure, which the report names).

Takes the driver lock first: a session that a running cockpit drives is not
abandoned under it. Exit codes: 0 closed (or no open session); 1 the journal
cannot be written; 2 bad profile; 3 a driver holds the lock.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from cockpit.commands.profile_arg import open_profile
from cockpit.exitcodes import Exit
from cockpit.journal import Journal, find_open_session
from cockpit.lock import DriverLock, LockHeld
from cockpit.profile.model import Profile
from cockpit.session import Session
from cockpit.state import whoami


def _say(msg: str) -> None:
    print(f"cockpit abandon: {msg}", file=sys.stderr, flush=True)


def _close_held(profile: Profile, journal: Journal, entries: list[dict[str, Any]]) -> list[str]:
    """Expire the silences and close the Grafana region the session still holds (`cockpit.held`);
    what happened, one line each (a failure is journalled and said, never fatal)."""
    from cockpit.held import HeldManager

    said: list[str] = []
    def append(type_: Any, **fields: Any) -> dict[str, Any] | None:
        try:
            return journal.append(type_, **fields)
        except OSError as e:
            _say(f"the journal cannot be written: {e}")
            return None

    manager = HeldManager(profile, append, say=_say)
    for entry in entries:
        manager.apply(entry)
    if not manager.open:
        return said
    held = list(manager.open.values())
    asyncio.run(manager.close_all("the session was abandoned (cockpit abandon)"))
    for h in held:
        still = (h.kind, h.id) in manager.open
        said.append(f"{h.what} ({h.id}): " + ("could NOT be closed (see above); the report says so" if still
                                               else "closed"))
    return said


def main(args: argparse.Namespace) -> int:
    profile = open_profile(args.profile, "cockpit abandon")
    if profile is None:
        return Exit.USAGE
    try:
        lock = DriverLock.for_profile(profile)
        lock.acquire(time.time())
    except LockHeld as e:
        _say(f"{e}; stop that cockpit first")
        return Exit.REFUSED
    except OSError as e:
        _say(f"cannot take the driver lock: {e}")
        return Exit.FAILED
    try:
        path = find_open_session(profile)
        if path is None:
            print(f"no open session for {profile.cockpit.name}: the next driver starts a new journal")
            return Exit.OK
        try:
            journal, entries = Journal.resume(path, profile, on_warning=lambda w: _say(f"warning: {w}"))
        except OSError as e:
            _say(f"{path}: {e.strerror or e}")
            return Exit.FAILED
        session = Session.from_entries(entries)
        user, host = whoami()
        closed = _close_held(profile, journal, entries)
        try:
            journal.append("session_abandoned", by=f"{user}@{host}",
                           reason=args.reason or "closed with cockpit abandon")
        except OSError as e:
            _say(str(e))
            return Exit.FAILED
        finally:
            journal.close()
        state = []
        if session.rollback_running:
            state.append("its rollback had not ended")
        if session.running:
            state.append(f"no end recorded for {', '.join(sorted(session.running))}")
        print(f"closed session {journal.session} ({path})" + (f": {'; '.join(state)}" if state else ""))
        for line in closed:
            print(line)
        print("the next driver starts a new journal")
        return Exit.OK
    finally:
        lock.release()
