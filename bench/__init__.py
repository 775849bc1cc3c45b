"""The benchmark harness: the project's hot paths measured against bare baselines."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
