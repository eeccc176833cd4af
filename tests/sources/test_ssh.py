"""The ssh source against a real OpenSSH sshd on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.profile.model import Profile, SshSettings
from cockpit.sources.base import SourceError
from cockpit.sources.ssh import OwnedRunner, SshSampler, parse_output
from tests.sources import build
from tests.support.sshd import TestSshd, running_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd"), {"worker-1": "127.0.0.1"}) as d:
        yield d


def ssh_profile(sshd: TestSshd, known_hosts: Path | None = None) -> Profile:
    return build.profile(
        [build.source("redis", "ssh", hosts="workers", timeout=5.0)],
        [],
        hosts={"workers": ("worker-1",)},
        ssh=SshSettings(config=str(sshd.ssh_config), known_hosts=str(known_hosts or sshd.known_hosts)),
    )


def test_parse_output():
    assert parse_output("42\n") == {"": 42.0}
    assert parse_output("feed 12\nnotifications 0\nsearch index 3\n") == {
        "feed": 12.0, "notifications": 0.0, "search index": 3.0,
    }
    for garbage in ("abc", "", "feed twelve", "1 2 3\nx"):
        with pytest.raises(SourceError, match=r"^could not read a number from output: "):
            parse_output(garbage)
    with pytest.raises(SourceError, match="'a' appears twice"):
        parse_output("a 1\na 2")
    long = "x" * 500
    with pytest.raises(SourceError) as e:
        parse_output(long)
    assert len(str(e.value)) < 100  # truncated


async def test_ssh_source_number_lines_garbage_and_failure(sshd: TestSshd):
    profile = ssh_profile(sshd)
    runner = OwnedRunner(profile)
    s = SshSampler(profile.sources["redis"], profile, runner)
    try:
        assert await s.sample(build.signal("n", "redis", command="echo 17")) == {"": 17.0}
        lines = build.signal("l", "redis", command="printf 'feed 120\\nnotifications 3\\n'")
        assert await s.sample(lines) == {"feed": 120.0, "notifications": 3.0}
        with pytest.raises(SourceError, match=r"^could not read a number from output: 'abc'$"):
            await s.sample(build.signal("g", "redis", command="echo abc"))
        with pytest.raises(SourceError, match=r"^worker-1: .*exited with status 3: no redis here$"):
            await s.sample(build.signal("f", "redis", command="echo 'no redis here' >&2; exit 3"))
        quick = SshSampler(build.source("redis", "ssh", hosts="workers", timeout=0.5), profile, runner)
        with pytest.raises(SourceError, match=r"^worker-1: .*timed out after 0\.5s$"):
            await quick.sample(build.signal("z", "redis", command="sleep 5"))
        assert await s.sample(build.signal("n", "redis", command="echo 18")) == {"": 18.0}  # still usable
    finally:
        await s.close()  # a runner given to the source is the caller's to close
        await runner.close()


async def test_unknown_host_key_is_refused(sshd: TestSshd, tmp_path: Path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    profile = ssh_profile(sshd, known_hosts=empty)
    runner = OwnedRunner(profile)
    s = SshSampler(profile.sources["redis"], profile, runner)
    try:
        with pytest.raises(SourceError, match=r"^worker-1: host key not trusted"):
            await s.sample(build.signal("n", "redis", command="echo 1"))
    finally:
        await runner.close()


async def test_empty_host_group():
    profile = build.profile([build.source("redis", "ssh", hosts="nobody")], [])
    s = SshSampler(profile.sources["redis"], profile, OwnedRunner(profile))
    with pytest.raises(SourceError, match="host group 'nobody' is empty or undefined"):
        await s.sample(build.signal("n", "redis", command="echo 1"))
