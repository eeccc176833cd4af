"""The open-file limit a pool of N connections needs: raised at start, or said clearly.

Each direct SSH connection holds one socket (connections tunnelled through a jump host
hold none: they are channels of the jump connection), and each handshake in flight
briefly holds a config slice file. Linux's default soft limit is 1,024; a bastion user
may have less. When the soft limit is below what the fleet needs it is raised (up to
the hard limit, which a process may do itself). When even the hard limit is too low,
the pool opens only the connections that fit and says why (``FdBudget.notice``),
leaving ``RESERVE`` descriptors for the journal, the sources' sockets and the TUI: a
pool that ran the process out of descriptors would also break the journal's writes.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

RESERVE = 32  # journal, lock, Prometheus/HTTP sockets, stdio, the event loop's own


@dataclass(frozen=True)
class FdBudget:
    soft: int  # the soft limit after raising it
    hard: int
    connections: int  # direct connections the pool may hold at once
    wanted: int  # the soft limit the fleet needs
    notice: str | None  # set when the limit cannot be raised far enough


def fds_in_use() -> int:
    """Open file descriptors of this process now (0 when ``/proc`` cannot tell)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def _show(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)


def ensure_fd_limit(hosts: int, handshakes: int) -> FdBudget:
    """Raise the soft ``RLIMIT_NOFILE`` to what ``hosts`` connections need, as far as the hard limit allows."""
    in_use = fds_in_use()
    wanted = in_use + hosts + handshakes + RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
    room = hosts if soft == resource.RLIM_INFINITY else max(0, soft - in_use - handshakes - RESERVE)
    notice = None
    if room < hosts:
        notice = (
            f"open-file limit too low for {hosts} hosts: they need about {wanted} file descriptors, "
            f"the limit is {_show(soft)} (hard {_show(hard)}), so only {room} hosts can be connected at "
            f"once — raise the hard limit (ulimit -n {wanted} before starting cockpit; "
            f"LimitNOFILE={wanted} for a service; nofile in /etc/security/limits.conf)"
        )
    return FdBudget(soft, hard, min(room, hosts) if notice else room, wanted, notice)
