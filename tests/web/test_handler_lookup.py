"""The spec names every function one way, `handlers.<module>.<function>`, and each is found."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from starlette.requests import Request

from authapi.handlers import security
from authapi.web.app import SPEC_DIR, create_app
from authapi.web.handler_lookup import resolve_operation
from tests.api_moves import Api
from tests.config import settings_for
from tests.token_clients import BROWSER_SETTINGS, introspect

SPELLING = re.compile(r"handlers\.[a-z_]+\.[a-z_]+")
SECURITY_FUNCTION_KEY = re.compile(r"x-\w+InfoFunc")


def names_in(node: Any) -> Iterator[tuple[str, str]]:
    """Yield (key, name) for every operationId and security function the spec names."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "operationId" or SECURITY_FUNCTION_KEY.fullmatch(key):
                yield key, value
            else:
                yield from names_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from names_in(item)


SPEC = yaml.safe_load((SPEC_DIR / "auth.yaml").read_text(encoding="utf-8"))
NAMES = list(names_in(SPEC))
OPERATION_IDS = [name for key, name in NAMES if key == "operationId"]


def test_spec_spells_every_operation_and_security_function_alike() -> None:
    assert {key for key, _ in NAMES} == {"operationId", "x-bearerInfoFunc", "x-basicInfoFunc"}
    assert [name for _, name in NAMES if not SPELLING.fullmatch(name)] == []


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_id_finds_its_handler_in_authapi_handlers(operation_id: str) -> None:
    module, function = operation_id.rsplit(".", 1)
    assert resolve_operation(operation_id) is getattr(
        importlib.import_module(f"authapi.{module}"), function
    )


@pytest.mark.parametrize("tuning", [False, True], ids=["stock", "tuned"])
def test_security_functions_are_the_ones_in_authapi_handlers(
    tuning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[str] = []
    bearer_auth, introspection_client = security.bearer_auth, security.introspection_client

    async def spying_bearer_auth(token: str, request: Request) -> dict[str, Any]:
        called.append("bearer_auth")
        return await bearer_auth(token, request)

    async def spying_introspection_client(
        username: str, password: str, request: Request
    ) -> dict[str, Any]:
        called.append("introspection_client")
        return await introspection_client(username, password, request)

    # Patched before the app is built: the app holds what it finds under those names then.
    monkeypatch.setattr(security, "bearer_auth", spying_bearer_auth)
    monkeypatch.setattr(security, "introspection_client", spying_introspection_client)
    settings = settings_for(**BROWSER_SETTINGS, connexion_tuning=tuning)
    with create_app(settings).test_client() as client:
        account = Api(client).account()
        assert Api(client).profile(account.access_token).status_code == 200
        assert introspect(client, account.access_token).json()["active"] is True
    assert called == ["bearer_auth", "introspection_client"]
    # The repo's top is on sys.path in a checkout: a name looked up there would import a
    # second copy of the handlers, which the wheel does not even have.
    assert "handlers" not in sys.modules
