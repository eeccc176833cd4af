"""The position finder, the schema-driven converter and profile location."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pytest

from cockpit.profile.convert import INVALID, Converter, Reporter
from cockpit.profile.load import load_profile
from cockpit.profile.locate import ProfileNotFound, locate_profile
from cockpit.profile.model import Profile
from cockpit.profile.positions import key_lines, line_of
from cockpit.profile.problems import ProfileError
from tests.profile.cases import BASE

DOC = '''\
# comment with x = 1
[cockpit]
name = "a" # trailing
keys = { quit = "x", "start_rollback" = "R" }

[[step]]
id = "one"
command = """
fake = "not a key"
[not.a.table]
"""
after = [
  "a",   # comment
  'b',
]

[step.verify]
command = 'c'

[[step]]
verify = { command = "d", exit_status = 1 }
when = 1979-05-27 07:32:00
[ sources . "prom" ]
url = "u"
'''


def test_key_lines_finds_tables_keys_inline_keys_and_array_elements() -> None:
    lines = key_lines(DOC)
    assert lines[("cockpit", "name")] == 3
    assert lines[("cockpit", "keys", "start_rollback")] == 4
    assert lines[("step", 0)] == 6
    assert lines[("step", 0, "after", 1)] == 14
    assert lines[("step", 0, "verify", "command")] == 18
    assert lines[("step", 1)] == 20
    assert lines[("step", 1, "verify", "exit_status")] == 21
    assert lines[("step", 1, "when")] == 22
    assert lines[("sources", "prom", "url")] == 24
    assert ("step", 0, "fake") not in lines and ("not",) not in lines


def test_line_of_falls_back_to_the_enclosing_table() -> None:
    lines = key_lines(DOC)
    assert line_of(lines, ("step", 1, "verify", "output")) == 21
    assert line_of(lines, ("step", 1, "missing")) == 20
    assert line_of(lines, ("nowhere",)) == 1


def test_key_lines_never_raises_on_garbage() -> None:
    assert isinstance(key_lines("[[[ = = \"\n'''"), dict)


@dataclass(frozen=True)
class _Extra:
    """A stand-in for a model class that gained fields: the converter needs no change for them."""

    grace: float = field(metadata={"parse": "duration"})
    renamed: str = field(default="x", metadata={"toml": "from"})
    tags: tuple[str, ...] = ()
    limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def test_converter_is_driven_by_the_dataclass() -> None:
    rep = Reporter({}, {})
    conv = Converter(rep)
    obj = conv.dataclass(_Extra, {"grace": "90s", "from": "y", "tags": ["a"], "limits": {"q": 3}}, ("extra",))
    assert obj == _Extra(grace=90.0, renamed="y", tags=("a",), limits=MappingProxyType({"q": 3}))
    assert isinstance(obj.limits, MappingProxyType) and isinstance(obj.tags, tuple)
    bad = conv.dataclass(_Extra, {"grace": 5, "renamed": "z", "limits": {"q": "3"}}, ("extra",))
    assert bad is INVALID
    assert [p.message for p in rep.problems] == [
        'extra: unknown key "renamed" (expected one of: grace, from, tags, limits)',
        'extra.grace: expected a duration string like "30s" or "15m", got 5',
        'extra.limits.q: expected an integer, got "3"',
    ]


def test_load_profile_raises_with_problems(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text(BASE.replace('key = "p"', 'key = "q"'))
    with pytest.raises(ProfileError) as err:
        load_profile(p)
    assert [x.line for x in err.value.problems] == [30]
    assert (
        str(err.value)
        == f'{p}:30: step "pause": key: key "q" is reserved (the app\'s quit key); choose another'
    )


def test_loaded_profile_is_immutable_with_hash(tmp_path: Path) -> None:
    import hashlib

    p = tmp_path / "p.toml"
    p.write_text(BASE)
    prof = load_profile(p)
    assert isinstance(prof, Profile)
    assert prof.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert prof.path == str(p.resolve())
    assert prof.hosts["web"] == ("h1", "h2") and isinstance(prof.hosts, MappingProxyType)
    assert prof.sources["prom"].id == "prom"
    with pytest.raises(TypeError):
        prof.hosts["x"] = ()  # type: ignore[index]


def test_hosts_group_may_be_a_single_string(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text(BASE.replace('console = ["h1"]', 'console = "h1"'))
    assert load_profile(p).hosts["console"] == ("h1",)


def test_locate_profile(tmp_path: Path) -> None:
    assert locate_profile("academy").name == "academy.toml"
    assert locate_profile("academy.toml").name == "academy.toml"
    f = tmp_path / "academy"
    f.write_text(BASE)
    assert locate_profile(str(f)) == f  # an existing path wins over a bundled name
    with pytest.raises(ProfileNotFound, match=r"bundled: .*academy"):
        locate_profile("no-such-profile")
