"""An older commit's tree, served beside the current one: the checkout and what it imports."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bench import REPO_ROOT
from bench.harness.trees import (
    CLAIMS_BEFORE_REF,
    COMPLETE_MARK,
    Tree,
    check_served_from,
    checkout,
    imported_from,
    resolve,
)
from bench.scenarios import claims_cost
from bench.scenarios.claims_cost import ASSURANCE_CLAIMS, token_claims


@pytest.fixture
def head(tmp_path: Path) -> Tree:
    return checkout("HEAD", tmp_path)


def test_a_checkout_lays_out_the_package_as_the_distribution_ships_it(head: Tree) -> None:
    assert head.commit == resolve("HEAD")
    assert (head.root / "authapi" / "handlers" / "security.py").is_file()
    assert (head.root / "authapi" / "openapi" / "auth.yaml").is_file()
    assert "/api/v1/protected/profile" in head.spec_paths()


def test_a_python_started_in_a_checkout_imports_its_package_handlers_and_spec(head: Tree) -> None:
    where = imported_from(head)
    assert set(where) == {"authapi", "handlers", "openapi"}
    assert all(path.is_relative_to(head.root) for path in where.values()), where
    check_served_from(head)


def test_without_the_package_links_the_current_handlers_are_imported_and_refused(
    head: Tree,
) -> None:
    # The editable install maps authapi.handlers to this repository's handlers/ whichever
    # authapi was imported: only the link inside the checkout's package stops that.
    (head.root / "authapi" / "handlers").unlink()
    assert imported_from(head)["handlers"].is_relative_to(REPO_ROOT)
    with pytest.raises(RuntimeError, match="would import handlers"):
        check_served_from(head)


def test_a_commit_is_extracted_once_and_a_half_made_checkout_again(tmp_path: Path) -> None:
    first = checkout("HEAD", tmp_path)
    stray = first.root / "authapi" / "stray.py"
    stray.write_text("")
    assert checkout("HEAD", tmp_path) == first
    assert stray.exists()
    (first.root / COMPLETE_MARK).unlink()
    checkout("HEAD", tmp_path)
    assert not stray.exists()


def test_the_default_before_ref_is_the_tree_before_the_second_factor(tmp_path: Path) -> None:
    before = checkout(CLAIMS_BEFORE_REF, tmp_path)
    current = Tree(REPO_ROOT, resolve("HEAD"))
    assert not [path for path in before.spec_paths() if "/mfa/" in path]
    assert [path for path in current.spec_paths() if "/mfa/" in path]


def test_token_claims_reads_a_jwt_payload_without_verifying_it() -> None:
    payload = {"sub": "u", "acr": "aal1", "amr": ["pwd"], "auth_time": 1}
    # An unpadded payload of a length that needs padding back, as JWTs are written.
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert len(encoded) % 4
    claims = token_claims(f"e30.{encoded}.signature")
    assert claims == payload
    assert ASSURANCE_CLAIMS <= claims.keys()


def test_the_claims_alone_are_timed_with_and_without_them_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(claims_cost, "DECODES", {"PyJWT decode": 2, "remembered": 2})
    monkeypatch.setattr(claims_cost, "DECODE_REPEATS", 1)
    labels = [measure.label for measure in claims_cost._claims_alone()]
    assert labels == [
        f"token decode CPU, {kind}, {name}"
        for kind in ("PyJWT decode", "remembered")
        for name in ("with acr, amr, auth_time", "without")
    ]
