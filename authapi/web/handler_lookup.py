"""Find the functions the spec names, all spelled `handlers.<module>.<function>`.

handlers/ sits at the repo's top and ships as `authapi.handlers` (pyproject.toml's
package-dir), in an editable install and in the wheel alike; so an operation's handler and a
security scheme's function are both looked up under `authapi.`, never as a top-level
`handlers` (the wheel has none, and a checkout's would be a second copy of every module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.security import BasicSecurityHandler, BearerSecurityHandler
from connexion.utils import get_function_from_name

HANDLERS_PACKAGE = "authapi"


def import_path(spec_name: str) -> str:
    """Return where a function the spec names is imported from (`authapi.handlers.…`)."""
    return f"{HANDLERS_PACKAGE}.{spec_name}"


def resolve_operation(operation_id: str) -> Callable[..., Any]:
    """Find the handler an operationId names (`handlers.auth.login`)."""
    # The operationIds stay as the contract has always published them (clients generated from
    # it name their functions after them, and the metrics label requests with them).
    handler: Callable[..., Any] = get_function_from_name(import_path(operation_id))
    return handler


def _located(scheme: dict[str, Any], key: str) -> dict[str, Any]:
    # Connexion imports the name the scheme gives under `key` itself: it is handed the path.
    return {**scheme, key: import_path(scheme[key])}


class SpecNamedBasicHandler(BasicSecurityHandler):  # type: ignore[misc]
    """HTTP Basic, calling the `x-basicInfoFunc` the spec names as it names operations."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: list[str]) -> Any:
        scheme = _located(security_scheme, self.security_definition_key)
        return super().get_fn(scheme, required_scopes)


class SpecNamedBearerHandler(BearerSecurityHandler):  # type: ignore[misc]
    """HTTP Bearer, calling the `x-bearerInfoFunc` the spec names as it names operations."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: list[str]) -> Any:
        scheme = _located(security_scheme, self.security_definition_key)
        return super().get_fn(scheme, required_scopes)


# Connexion's security_map: the schemes the spec uses, each with its function found as above.
SECURITY_HANDLERS: dict[str, type[Any]] = {
    "basic": SpecNamedBasicHandler,
    "bearer": SpecNamedBearerHandler,
}
