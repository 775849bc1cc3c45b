"""Serve the project as it stood at an older commit, beside the current tree, in one run.

A checkout holds only what the server imports (`authapi/`, `handlers/`, `openapi/`), laid
out as the distribution ships them: `handlers` and `openapi` inside the package. A Python
started in the checkout with it first on `PYTHONPATH` then finds that tree's `authapi`
before the editable install's finder (which comes last in `sys.meta_path`), and its
`authapi.handlers` and `authapi.openapi` in the checkout too: without those two links the
editable finder would hand the older package the current handlers and spec.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench import REPO_ROOT

# Main just before issue17-mfa was merged (`cd4c0a7^1`): Argon2id and the activity log,
# not yet acr, amr and auth_time in the tokens.
CLAIMS_BEFORE_REF = "545fa664d6c23221c987e00125b049f2716f8206"
# What a server needs of a tree, each the distribution's subpackage of the same name.
SERVED_DIRS = ("authapi", "handlers", "openapi")
PACKAGE_LINKS = ("handlers", "openapi")
# Written last, so that a checkout cut off half-way is made again rather than served.
COMPLETE_MARK = ".complete"
# Printed by a Python started in a tree: where each part of the server came from.
WHERE_SCRIPT = """
import json, authapi, authapi.handlers.security, authapi.web.app
from importlib import resources
print(json.dumps({
    "authapi": authapi.__file__,
    "handlers": authapi.handlers.security.__file__,
    "openapi": str(resources.files("authapi.openapi") / "auth.yaml"),
}))
"""


@dataclass(frozen=True)
class Tree:
    """A project tree a server can run from: its root and the commit it holds."""

    root: Path
    commit: str

    @property
    def env(self) -> dict[str, str]:
        """Return the variables that make a Python started in `root` import this tree."""
        return {"PYTHONPATH": str(self.root)}

    def spec_paths(self) -> list[str]:
        """Return the paths this tree's contract declares."""
        spec = yaml.safe_load((self.root / "openapi" / "auth.yaml").read_text(encoding="utf-8"))
        return list(spec["paths"])


def resolve(ref: str) -> str:
    """Return the full commit id `ref` names in this repository."""
    return _git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()


def checkout(ref: str, into: Path) -> Tree:
    """Extract `ref`'s served directories into `into/COMMIT` (once per commit) and return it."""
    commit = resolve(ref)
    root = into / commit[:12]
    if not (root / COMPLETE_MARK).exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        archive = _git("archive", "--format=tar", commit, *SERVED_DIRS)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(root, filter="data")
        for name in PACKAGE_LINKS:
            (root / "authapi" / name).symlink_to(Path("..") / name, target_is_directory=True)
        (root / COMPLETE_MARK).write_text(commit + "\n")
    return Tree(root, commit)


def imported_from(tree: Tree) -> dict[str, Path]:
    """Return the files a server started in `tree` imports its package, handlers and spec from."""
    answer = subprocess.run(
        [sys.executable, "-c", WHERE_SCRIPT],
        cwd=tree.root,
        env={**os.environ, **tree.env},
        capture_output=True,
        check=True,
    )
    return {part: Path(path) for part, path in json.loads(answer.stdout).items()}


def check_served_from(tree: Tree) -> None:
    """Refuse to measure a tree whose server would import any part from elsewhere."""
    for part, path in imported_from(tree).items():
        if not path.resolve().is_relative_to(tree.root.resolve()):
            raise RuntimeError(f"a server in {tree.root} would import {part} from {path}")


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, check=True).stdout
