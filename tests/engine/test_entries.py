"""The typed entry kinds (`cockpit.entries`): one list of kinds, used by every writer and reader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cockpit.entries import ENTRY_TYPES, validate
from cockpit.journal import MAX_WRITE_BYTES, Journal, load_journal

ROOT = Path(__file__).resolve().parents[2]


def _kinds_named_in(path: Path) -> set[tuple[str, int]]:
    """String constants a module writes as an entry type or compares an entry's type with."""
    tree = ast.parse(path.read_text())
    found: set[tuple[str, int]] = set()

    def constants(node: ast.AST) -> list[ast.Constant]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return [c for elt in node.elts for c in constants(elt)]
        return []

    def is_type_of_entry(node: ast.AST) -> bool:
        text = ast.unparse(node)
        return text in {"t", "kind"} or text.endswith(('.get("type")', "['type']", '["type"]'))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"append", "_append"} \
                and node.args and isinstance(node.args[0], ast.Constant) and node.keywords \
                and ast.unparse(node.func.value) in {"self", "self.journal", "journal", "j"}:
            found.add((str(node.args[0].value), node.lineno))
        if isinstance(node, ast.Compare) and is_type_of_entry(node.left):
            for comparator in node.comparators:
                found |= {(c.value, c.lineno) for c in constants(comparator)}
    return found


@pytest.mark.parametrize("module", ["controller.py", "journal.py", "session.py", "report.py",
                                    "commands/abandon.py", "tui/app.py"])
def test_every_kind_a_module_names_is_a_declared_kind(module: str) -> None:
    named = _kinds_named_in(ROOT / "cockpit" / module)
    assert named, f"{module}: no entry kinds found (the scan is broken)"
    unknown = sorted((k, line) for k, line in named if k not in ENTRY_TYPES)
    assert not unknown, f"cockpit/{module} names entry kinds that cockpit.entries does not declare: {unknown}"


def test_an_entry_too_large_for_the_readers_is_written_with_its_strings_cut(make_profile) -> None:
    j = Journal.create(make_profile())
    j.append("step_end", step="big", state="ok", hosts=[{"host": "h", "tail": ["x" * (MAX_WRITE_BYTES + 10)]}])
    j.close()
    (e,) = load_journal(j.path).entries
    assert e["hosts"][0]["tail"][0].endswith("(truncated)") and len(e["hosts"][0]["tail"][0]) < 1000
    assert "long strings cut" in e["truncated"]
    assert j.path.stat().st_size < 4096


def test_validate_names_the_field() -> None:
    assert validate({"ts": 1.0, "type": "step_end", "started": "abc"}) == \
        "step_end: started must be a finite number, not 'abc'"
    assert validate({"ts": 1.0, "type": "step_end", "hosts": [{"tail": "x"}]}) == \
        "step_end: hosts[0].tail must be a list, not 'x'"
    assert validate({"ts": 1e300, "type": "session_end"}) == "session_end: ts 1e+300 is not a plausible time"
    assert validate({"ts": 1.0, "type": "rollback_end", "elapsed": 1e300}) == \
        "rollback_end: elapsed 1e+300 is not a plausible duration"
    assert validate({"ts": 1.0, "type": "bogus"}) == "unknown entry type 'bogus'"
    assert validate({"ts": 1.0, "type": "check_transition", "from": None, "to": "ok"}) is None


def test_the_writer_refuses_a_kind_the_readers_would_skip(make_profile) -> None:
    j = Journal.create(make_profile())
    with pytest.raises(ValueError, match=r"undeclared journal entry kind 'telemetry': declare it in cockpit/entries\.py"):
        j.append("telemetry", by="bob")  # type: ignore[arg-type]
    j.close()
    assert j.path.read_bytes() == b""
