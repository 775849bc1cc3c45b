"""A client generated from the served /openapi.json runs the README walkthrough.

openapi-python-client generates it at test time into a temporary directory; nothing
generated is committed. Where the generator could not handle the spec, the spec changes.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyotp
import pytest
import requests

from authapi.totp import STEP_SECONDS
from tests.api_moves import PASSWORD
from tooling.devserver import running_server

# One worker runs the module's server (and writes its log) once for all its tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("generated-client")]

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "generated_auth_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    env = {
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
        "TASK_WRITES_PER_MINUTE": "0",
    }
    with running_server(env, log_path=ROOT / "build" / "generated-client-server.log") as url:
        yield url


@pytest.fixture(scope="module")
def generated(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("generated-client")
    spec = work / "openapi.json"
    spec.write_text(requests.get(f"{base_url}/openapi.json", timeout=10).text)
    # No post-generation hooks: formatting the generated code is not what is tested here.
    config = work / "config.yaml"
    config.write_text("post_hooks: []\n")
    completed = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(work / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # A warning means part of the spec was skipped: the spec must change until there is none.
    assert "Warning" not in completed.stdout + completed.stderr, completed.stdout
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def _operation(package: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.handlers_{tag}_{operation}")


def _model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def test_generated_client_runs_the_readme_walkthrough(generated: ModuleType, base_url: str) -> None:
    email = "generated-client@example.com"
    with generated.Client(base_url=base_url) as anonymous:
        registered = _operation(generated, "auth", "register").sync_detailed(
            client=anonymous, body=_model(generated, "HandlersAuthRegisterBody")(email, PASSWORD)
        )
        assert registered.status_code == 201, registered.content
        assert registered.parsed.email == email
        login = _operation(generated, "auth", "login").sync(
            client=anonymous, body=_model(generated, "HandlersAuthLoginBody")(email, PASSWORD)
        )
        assert login.token_type.value == "bearer"

    with generated.AuthenticatedClient(base_url=base_url, token=login.access_token) as me:
        profile = _operation(generated, "profile", "get_profile").sync(client=me)
        assert profile.email == email and profile.id == registered.parsed.id
        new_task = _model(generated, "HandlersTasksCreateTaskBody")(title="Write the README")
        task = _operation(generated, "tasks", "create_task").sync(client=me, body=new_task)
        assert task.title == "Write the README" and task.completed is False
        listing = _operation(generated, "tasks", "list_tasks").sync(client=me, limit=10)
        assert [item.id for item in listing.items] == [task.id]

    with generated.Client(base_url=base_url) as anonymous:
        wrong = _model(generated, "HandlersAuthLoginBody")(email, "not it")
        refused = _operation(generated, "auth", "login").sync_detailed(client=anonymous, body=wrong)
        assert refused.status_code == 401

    with generated.AuthenticatedClient(base_url=base_url, token=login.access_token) as me:
        activity = _operation(generated, "activity", "list_activity").sync(client=me, limit=5)
        assert [event.type_.value for event in activity.events] == [
            "login_failed",
            "login_succeeded",
        ]
        assert activity.events[0].details.count == 1

    with generated.Client(base_url=base_url) as anonymous:
        refreshed = _operation(generated, "auth", "refresh").sync(
            client=anonymous,
            body=_model(generated, "HandlersAuthRefreshBody")(refresh_token=login.refresh_token),
        )
        assert refreshed.refresh_token != login.refresh_token

    with generated.AuthenticatedClient(base_url=base_url, token=refreshed.access_token) as me:
        logout = _operation(generated, "auth", "logout").sync_detailed(client=me)
        assert logout.status_code == 204
        after = _operation(generated, "profile", "get_profile").sync_detailed(client=me)
        assert after.status_code == 401
        assert after.parsed.detail == "The token is invalid, expired or revoked."


def test_generated_client_runs_the_readme_second_factor_walkthrough(
    generated: ModuleType, base_url: str
) -> None:
    email = "generated-client-mfa@example.com"
    login_body = _model(generated, "HandlersAuthLoginBody")(email, PASSWORD)
    with generated.Client(base_url=base_url) as anonymous:
        _operation(generated, "auth", "register").sync_detailed(
            client=anonymous, body=_model(generated, "HandlersAuthRegisterBody")(email, PASSWORD)
        )
        login = _operation(generated, "auth", "login").sync(client=anonymous, body=login_body)

    with generated.AuthenticatedClient(base_url=base_url, token=login.access_token) as me:
        enrolment = _operation(generated, "mfa", "enrol_totp").sync(client=me)
        totp = pyotp.TOTP(enrolment.secret)
        # The walkthrough confirms with the code of one step and logs in with the next; the
        # server's clock is the real one, so start well inside a step.
        while time.time() % STEP_SECONDS > STEP_SECONDS - 8:
            time.sleep(0.5)
        now = time.time()
        confirmed = _operation(generated, "mfa", "confirm_totp").sync(
            uuid.UUID(str(enrolment.factor_id)),
            client=me,
            body=_model(generated, "HandlersMfaConfirmTotpBody")(code=totp.at(now - STEP_SECONDS)),
        )
        assert len(confirmed.recovery_codes) == 10

    with generated.Client(base_url=base_url) as anonymous:
        challenged = _operation(generated, "auth", "login").sync_detailed(
            client=anonymous, body=login_body
        )
        assert challenged.status_code == 403
        assert challenged.parsed.error.value == "mfa_required"
        # The body is a oneOf (a code, or a passkey): the code's branch is the first.
        verify_body = _model(generated, "HandlersMfaVerifyBodyType0")
        method = _model(generated, "HandlersMfaVerifyBodyType0Method")
        tokens = _operation(generated, "mfa", "verify").sync(
            client=anonymous,
            body=verify_body(
                mfa_token=challenged.parsed.mfa_token, method=method("totp"), code=totp.at(now)
            ),
        )
        assert tokens.token_type.value == "bearer"

    with generated.AuthenticatedClient(base_url=base_url, token=tokens.access_token) as me:
        codes = _operation(generated, "mfa", "regenerate_recovery_codes").sync(client=me)
        assert len(codes.recovery_codes) == 10
        factors = _operation(generated, "mfa", "list_factors").sync(client=me)
        assert [str(f.id) for f in factors.factors] == [str(enrolment.factor_id)]
