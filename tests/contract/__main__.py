"""Fuzz a freshly started server against openapi/auth.yaml with schemathesis (`make contract`).

Two runs at once, each against a fresh server of its own (the outsider's account and
sessions stay out of the project's run, and the two cores share the work):
- the project's run: every operation through the examples, coverage, fuzzing and stateful
  phases, with every built-in check plus `use_after_logout` (hooks.py); `schemathesis.toml`
  holds its configuration and the reason for each narrowing. It fails on any failure, on an
  operation left untested, on fewer than MIN_CASES generated cases, and when the logout
  check never got to probe a session;
- the outside run: what someone who only has the URL would run, `st run .../openapi.json
  --checks all` with a bearer token and none of the project's configuration, less the one
  check whose false alarms only that configuration explains (positive_data_acceptance).
  It fails on any failure.
Extra arguments go to the project's `st run`: a failure found with seed N comes back with
`python -m tests.contract --seed N`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from tooling.devserver import running_server

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build" / "contract"
MIN_CASES = 1000
# Generous: a busy shared machine runs each in one to three minutes.
TIMEOUT_SECONDS = 600
OUTSIDE_TIMEOUT_SECONDS = 600
# The outside run's cases are pinned, so that a failure comes back the same way and CI does not
# hang on chance: its default checks cannot know the domain rules no schema states (a password
# must not be the email's name, nor a breached one), and a random draw can meet them.
OUTSIDE_SEED = "11721560634505353174645335164693955554"
OUTSIDE_MAX_EXAMPLES = 30
OUTSIDE_ACCOUNT = {
    "email": "outside-fuzzer@example.com",
    "password": "an outside fuzzer's passphrase",
}
# Throttling answers 429 by design; fuzzing thousands of logins from one address would meet it
# everywhere. 0 disables both limits (authapi/throttle.py); tests/security covers them.
SERVER_ENV = {
    "STORAGE_URL": "memory://",
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    "LOGIN_MAX_FAILURES": "0",
    # The resource server that hooks.py introspects as.
    "INTROSPECTION_CLIENTS": "contract-resource-server:contract-resource-server-secret-32b",
}


def schemathesis_command(base_url: str, report: Path, extra: list[str]) -> list[str]:
    """Return the schemathesis command line for a run against `base_url`."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        str(ROOT / "openapi" / "auth.yaml"),
        "--url",
        base_url,
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *extra,
    ]


def outside_command(base_url: str, access_token: str, report: Path) -> list[str]:
    """Return the outside run's command line: the published spec, every check, a token."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        # All but one: a schema-valid request refused by a rule no schema can state (a
        # breached password, a cursor this API never issued) is a 400, and which generated
        # case meets such a rule moves with every change to the spec. The project's run
        # keeps this check, and names each such rule in schemathesis.toml.
        "--exclude-checks",
        "positive_data_acceptance",
        "--seed",
        OUTSIDE_SEED,
        # A third of schemathesis' default 100 per operation: the token dies at the first
        # logout the run sends, and from then on every bearer operation answers only 401,
        # which the project's run covers already; past that, cases cost time and find nothing.
        "--max-examples",
        str(OUTSIDE_MAX_EXAMPLES),
        # No memory of earlier runs' examples either: the same cases every time.
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {access_token}",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]


def outside_token(base_url: str) -> str:
    """Register the outside run's account and return an access token for it."""
    requests.post(f"{base_url}/api/v1/auth/register", json=OUTSIDE_ACCOUNT, timeout=10)
    response = requests.post(f"{base_url}/api/v1/auth/login", json=OUTSIDE_ACCOUNT, timeout=10)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


@dataclass
class OutsideRun:
    """The outside run under way: its process, its report, its log and its empty directory."""

    process: subprocess.Popen[bytes]
    report: Path
    log_path: Path
    nowhere: str


def start_outside(base_url: str, report: Path, log_path: Path) -> OutsideRun:
    """Start fuzzing as an outsider would, printing into `log_path`; `finish_outside` ends it."""
    command = outside_command(base_url, outside_token(base_url), report)
    # From an empty directory, so that no schemathesis.toml of ours is found.
    nowhere = tempfile.mkdtemp(prefix="contract-outside-")
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(BUILD / "hypothesis-outside")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=nowhere, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return OutsideRun(process, report, log_path, nowhere)


def finish_outside(run: OutsideRun) -> list[str]:
    """Wait for the outside run, print what it printed; return what is wrong, empty if none."""
    try:
        returncode: int | None = run.process.wait(timeout=OUTSIDE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()
        returncode = None
    shutil.rmtree(run.nowhere, ignore_errors=True)
    sys.stdout.write(run.log_path.read_text(errors="replace"))
    report = json.loads(run.report.read_text()) if run.report.exists() else {}
    cases = report.get("test_cases", {})
    print(
        f"contract (outside): {cases.get('generated', 0)} cases generated, "
        f"{cases.get('unique_failures', 0)} unique failures"
    )
    if returncode is None:
        return [f"the outside run took longer than {OUTSIDE_TIMEOUT_SECONDS} s"]
    if returncode != 0:
        return [f"the outside run exited with {returncode} (see the failures above)"]
    return []


def verdict(exit_code: int, report: dict[str, object], stats: dict[str, int]) -> list[str]:
    """Return what is wrong with a finished run; empty when it passed."""
    problems = []
    cases, operations = report.get("test_cases", {}), report.get("operations", {})
    assert isinstance(cases, dict) and isinstance(operations, dict)
    if exit_code != 0:
        problems.append(f"schemathesis exited with {exit_code} (see the failures above)")
    if not operations.get("total") or operations.get("tested") != operations.get("total"):
        problems.append(f"not every operation was tested: {operations}")
    if cases.get("generated", 0) < MIN_CASES:
        problems.append(f"only {cases.get('generated', 0)} cases were generated, not {MIN_CASES}")
    for count in ("ended_sessions_probed", "linked_logouts", "refresh_tokens_probed"):
        if not stats.get(count):
            problems.append(f"use_after_logout never got to work: {count} is 0")
    return problems


def main(extra: list[str]) -> int:
    """Start a server, fuzz it, and return 0 only for a clean, large enough run."""
    BUILD.mkdir(parents=True, exist_ok=True)
    report_path, stats_path = BUILD / "report.json", BUILD / "hooks.json"
    outside_path = BUILD / "outside-report.json"
    for path in (report_path, stats_path, outside_path):
        path.unlink(missing_ok=True)
    with (
        running_server(SERVER_ENV, log_path=BUILD / "server.log") as base_url,
        running_server(SERVER_ENV, log_path=BUILD / "outside-server.log") as outside_url,
    ):
        # The outsider fuzzes its own server meanwhile; its output follows the project's.
        outside = start_outside(outside_url, outside_path, BUILD / "outside.log")
        try:
            completed = subprocess.run(
                schemathesis_command(base_url, report_path, extra),
                cwd=ROOT,
                env={
                    **os.environ,
                    "CONTRACT_STATS": str(stats_path),
                    # Hypothesis keeps a cache of its own; out of the work tree, with the rest.
                    "HYPOTHESIS_STORAGE_DIRECTORY": str(BUILD / "hypothesis"),
                },
                check=False,
                timeout=TIMEOUT_SECONDS,
            )
        finally:
            outside_problems = finish_outside(outside)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    cases = report.get("test_cases", {})
    print(
        f"contract: {cases.get('generated', 0)} cases generated, "
        f"{cases.get('unique_failures', 0)} unique failures; use_after_logout: {stats}"
    )
    problems = verdict(completed.returncode, report, stats) + outside_problems
    for problem in problems:
        print(f"contract: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
