"""SECURITY.md maps each promise to the tests that keep it: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `tests/x/test_y.py::test_name`, with or without a parametrization after the name.
REFERENCE = re.compile(r"((?:tests|features)/[\w/]+\.py)::(\w+)")


def named_tests() -> list[tuple[str, str]]:
    """Return each (file, test) pair that SECURITY.md names."""
    return REFERENCE.findall((ROOT / "SECURITY.md").read_text())


def test_security_md_names_tests():
    assert len(named_tests()) > 100


def test_every_test_security_md_names_exists():
    missing = []
    for path, name in named_tests():
        source = ROOT / path
        defined = re.compile(rf"^\s*(async\s+)?def {name}\(|^class {name}\b", re.M)
        if not source.is_file() or not defined.search(source.read_text()):
            missing.append(f"{path}::{name}")
    assert missing == []
