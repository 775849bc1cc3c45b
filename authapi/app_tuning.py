"""Small adaptations of Connexion 3.3 that remove per-request work, part of the app factory.

Connexion re-inspects function signatures and re-decorates the handler on every request.
None of that depends on the request, so these subclasses do it once:

- `DecorateOnceAsyncApp` decorates each handler once per operation instead of per call;
- `BearerHandlerWithFixedSignature` inspects the bearer function's signature once.

Validation and security run exactly as declared in the spec; `tests/test_app_tuning.py`
pins the behaviour these subclasses keep.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.apps.abstract import AbstractApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.exceptions import OAuthResponseProblem
from connexion.operations import AbstractOperation
from connexion.security import NO_VALUE, BearerSecurityHandler


class DecorateOnceStarletteDecorator(StarletteDecorator):  # type: ignore[misc]
    """Build the parameter and response decorators once, not on every call."""

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        uri_parsers: dict[int, Any] = {}

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            current = operation._get_current_object()
            parser = uri_parsers.get(id(current))
            if parser is None:
                # The parser depends only on the operation's parameter definitions.
                parser = uri_parsers[id(current)] = self.uri_parser
            request = self.framework.get_request(uri_parser=parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class DecorateOnceOperation(AsyncOperation):  # type: ignore[misc]
    """An operation whose decorated handler is built on first use and then kept."""

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = DecorateOnceStarletteDecorator(
            pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return decorator(self._fn)


class DecorateOnceApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return DecorateOnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class DecorateOnceASGIApp(AsyncASGIApp):  # type: ignore[misc]
    api_cls = DecorateOnceApi


class DecorateOnceAsyncApp(AsyncApp):  # type: ignore[misc]
    """`AsyncApp`, with handlers decorated once per operation."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        # AsyncApp.__init__ only picks its ASGI app and hands every argument on.
        self._middleware_app = DecorateOnceASGIApp()
        AbstractApp.__init__(self, import_name, **kwargs)


class BearerHandlerWithFixedSignature(BearerSecurityHandler):  # type: ignore[misc]
    """Call the bearer function with the arguments its signature asks for, found out once."""

    def _generic_check(self, func: Callable[..., Any], exception_msg: str) -> Any:
        wants_scopes = self._accepts_kwarg(func, self.required_scopes_kw)
        wants_request = self._accepts_kwarg(func, self.request_kw)

        async def wrapper(request: Any, *args: Any, required_scopes: Any = None) -> Any:
            kwargs: dict[str, Any] = {}
            if wants_scopes:
                kwargs[self.required_scopes_kw] = required_scopes
            if wants_request:
                kwargs[self.request_kw] = request
            token_info = func(*args, **kwargs)
            while asyncio.iscoroutine(token_info):
                token_info = await token_info
            if token_info is NO_VALUE:
                return NO_VALUE
            if token_info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return token_info

        return wrapper


SECURITY_MAP = {"bearer": BearerHandlerWithFixedSignature}
