"""Real OpenSSH sshds per module (two: one sshd listens on 16 addresses at most) playing 20 hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cockpit.profile.model import Profile
from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster, running_cluster
from tests.runner.helpers import HOSTS, make_profile


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with running_cluster(tmp_path_factory.mktemp("sshd"), HOSTS) as server:
        yield server


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    """A directory the 'remote' commands write markers into (same machine)."""
    return tmp_path


@pytest.fixture
def profile(sshd: SshdCluster) -> Profile:
    return make_profile(sshd)


@pytest.fixture
async def pool(profile: Profile) -> AsyncIterator[SshPool]:
    p = SshPool(profile)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
def runner(profile: Profile, pool: SshPool) -> Runner:
    return Runner(profile, pool)
