"""docs/profile.md: generated reference up to date, every key documented, the worked example valid."""

from __future__ import annotations

import re

from cockpit.profile import docgen
from cockpit.profile.load import parse_profile
from cockpit.profile.model import Profile
from cockpit.profile.schema import fields_of, is_profile_dataclass, strip_optional
from tests.conftest import REPO

DOC = (REPO / "docs" / "profile.md").read_text()


def _all_classes(cls: type, seen: list[type]) -> list[type]:
    if cls in seen:
        return seen
    seen.append(cls)
    for f in fields_of(cls):
        tp, _ = strip_optional(f.type)
        for candidate in (tp, *getattr(tp, "__args__", ())):
            if is_profile_dataclass(candidate):
                _all_classes(candidate, seen)
    return seen


def test_generated_reference_is_current() -> None:
    assert docgen.render(DOC) == DOC, "run: python -m cockpit.profile.docgen"


def test_every_key_of_the_model_is_documented() -> None:
    for cls in _all_classes(Profile, []):
        for f in fields_of(cls):
            if f.key is not None and cls is not Profile:
                assert f"| `{f.key}` |" in DOC, f"{cls.__name__}.{f.name} missing from docs/profile.md"


def test_worked_example_passes_check() -> None:
    worked = DOC[DOC.index("## Worked example"):]
    blocks = re.findall(r"```toml\n(.*?)```", worked, re.S)
    assert len(blocks) == 1
    profile, problems = parse_profile(
        blocks[0].encode(), "/x/example.toml", environ={"PROM_TOKEN": "t" * 8, "SLACK_WEBHOOK_URL": "h" * 8}
    )
    assert [p.format("example.toml") for p in problems] == []
    assert profile is not None and len(profile.steps) == 3


def test_reserved_keys_table_matches_the_constant() -> None:
    from cockpit.profile.keys import APP_KEYS

    for action, key in APP_KEYS.items():
        assert f"| `{action}` | `{key}` |" in DOC
