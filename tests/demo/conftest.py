"""Fixtures of the demo tests: a running DemoStack and helpers to talk to it like cockpit does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncssh
import pytest

from cockpit.demo.stack import DemoStack

ARTISAN = "cd /var/www/academy/current && php artisan"


@pytest.fixture
async def stack() -> AsyncIterator[DemoStack]:
    async with DemoStack(speed=50) as s:
        yield s


async def connect(
    stack: DemoStack, host: str, known_hosts: str | None = None
) -> asyncssh.SSHClientConnection:
    """A real asyncssh client through the generated ssh config, host key verified."""
    p = stack.profile
    assert p.ssh.config is not None
    return await asyncssh.connect(
        host,
        config=[p.ssh.config],
        known_hosts=known_hosts or p.ssh.known_hosts,
        client_keys=list(p.ssh.client_keys),
        username=p.ssh.user,
        connect_timeout=5,
    )


async def poll_until(probe: Callable[[], Awaitable[bool]], deadline: float, interval: float = 0.05) -> bool:
    """True as soon as ``probe()`` is; False once ``deadline`` seconds passed without it."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if await probe():
            return True
        await asyncio.sleep(interval)
    return await probe()
