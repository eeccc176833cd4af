"""Per-host config slices give asyncssh exactly the options the whole file gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from asyncssh.config import SSHClientConfig

from cockpit.ssh.sshconfig import ConfigSlicer

MIXED = """User globaluser
# a comment
Host n0* !n005
  Port 1
  ProxyJump bastion
Host=n005
  Port 5
Match all
  ServerAliveInterval 3
Host "quoted" n1?
  HostName 10.0.0.1
Host *
  Port 99
  User star
"""


def options(path: str, host: str) -> dict[str, object]:
    return dict(SSHClientConfig.load(None, [path], False, False, False, "me", (), host, ())._options)


def test_slices_match_the_whole_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(MIXED + "".join(f"Host h{i}\n  HostName 127.0.2.{i}\n  Port {2000 + i}\n" for i in range(30)))
    slicer = ConfigSlicer(cfg)
    for host in ["n001", "n005", "n12", "quoted", "zz", *(f"h{i}" for i in range(30))]:
        with slicer.path_for(host) as sliced:
            assert sliced != str(cfg)
            assert options(sliced, host) == options(str(cfg), host), host
            lines = Path(sliced).read_text().splitlines()
        assert not Path(sliced).exists()  # a slice lives only while asyncssh reads it
        assert len(lines) < 20


def test_include_and_canonicalize_use_the_whole_file(tmp_path: Path) -> None:
    for line in ("Include other.conf\n", "CanonicalizeHostname yes\n"):
        cfg = tmp_path / "config"
        cfg.write_text(line + "Host a\n  Port 1\n")
        with ConfigSlicer(cfg).path_for("a") as path:
            assert path == str(cfg)


def test_port_and_proxyjump_lookups(tmp_path: Path) -> None:
    """The config's Port wins over [ssh] port; lookups skip hosts whose slice does not mention the option."""
    from cockpit.profile.model import SshSettings
    from cockpit.ssh.settings import load_settings

    cfg = tmp_path / "config"
    cfg.write_text("Host withport\n  Port 2200\nHost jumped\n  ProxyJump bastion:2201\nHost plain\n  User u\n")
    known = str(tmp_path / "known_hosts")
    # the config file handed to asyncssh (the path every slice that is not simple takes)
    default = replace(load_settings(SshSettings(config=str(cfg), known_hosts=known)), fast=False)
    custom = replace(load_settings(SshSettings(config=str(cfg), known_hosts=known, port=2222)), fast=False)
    for host in ("withport", "plain", "jumped"):
        with default.kwargs(host) as kw:
            assert "port" not in kw, host  # asyncssh's own default (22) or the config's Port
    with custom.kwargs("withport") as kw:
        assert "port" not in kw  # the config's Port 2200 wins
        assert options(kw["config"][0], "withport")["Port"] == 2200
    with custom.kwargs("plain") as kw:
        assert kw["port"] == 2222
    assert custom.proxy_jump("jumped") == "bastion:2201"
    assert custom.proxy_jump("plain") is None
    assert "plain" not in custom._parsed  # no parse needed: its slice never mentions ProxyJump
    # resolved here (simple slices): the same answers, no file
    fast = replace(custom, fast=True, _parsed={})
    with fast.kwargs("withport") as kw:
        assert kw["config"] is None and kw["port"] == 2200 and kw["host"] == "withport"
    with fast.kwargs("plain") as kw:
        assert kw["config"] is None and kw["port"] == 2222 and kw["username"] == "u"
    with fast.kwargs("jumped") as kw:
        assert kw["config"] != [] and kw["config"] is not None  # ProxyJump: asyncssh reads the slice


def test_slices_of_a_big_fleet_look_names_up(tmp_path: Path, monkeypatch: object) -> None:
    """1,000 ``Host name`` blocks: each host's slice is found by its name, not by matching every block
    (a million fnmatch calls at connect time before); the slices are the ones matching gives."""
    import asyncssh.pattern

    cfg = tmp_path / "config"
    cfg.write_text(MIXED.replace("Host *\n", "Host a1,a2 a3\n  Port 7\nHost *\n") + "".join(
        f"Host n{i:04d} alias{i}\n  HostName 127.0.20.{i % 250 + 1}\n" for i in range(1000)))
    slicer = ConfigSlicer(cfg)
    blocks = slicer._blocks
    assert blocks is not None
    calls = 0
    real = asyncssh.pattern.WildcardPatternList.matches

    def counting(self: asyncssh.pattern.WildcardPatternList, *args: object) -> bool:
        nonlocal calls
        calls += 1
        return bool(real(self, *args))

    setattr(asyncssh.pattern.WildcardPatternList, "matches", counting)  # noqa: B010
    try:
        hosts = ["n0000", "n0005", "n0999", "alias7", "n005", "quoted", "n12", "a2", "a3", "other", "n0000x"]
        got = {h: slicer.text_for(h) for h in hosts}
        scanned = calls
        want = {h: "".join(b.text for b in blocks if b.applies_to(h)) for h in hosts}
    finally:
        setattr(asyncssh.pattern.WildcardPatternList, "matches", real)  # noqa: B010
    assert got == want
    assert "HostName 127.0.20.8" in (got["alias7"] or "") and "Port 7" in (got["a2"] or "")
    assert scanned <= 4 * len(hosts), scanned   # the wildcard blocks only, not 1,000 per host
