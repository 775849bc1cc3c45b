"""Small adaptations of Connexion 3.3 that remove per-request work, part of the app factory.

Connexion re-inspects function signatures, re-decorates the handler and rebuilds the
parameter validator on every request. None of that depends on the request, so these
subclasses do it once:

- `DecorateOnceAsyncApp` decorates each handler once per operation instead of per call,
  and hands an operation with no parameters and no body only its security context,
  without parsing a request it has nothing to take from;
- `BearerHandlerWithFixedSignature` inspects the bearer function's signature once;
- `ValidateOnceMiddleware` validates parameters and bodies with validators built once per
  operation (and, for a body, per media type and charset), and skips the content-type
  parsing for an operation that takes no body (Connexion ignores it there);
- `IndexedRoutingMiddleware` and `DecorateOnceApi` route with `IndexedRouter`
  (authapi/web/route_index.py), which tries only the routes a path can match;
- `DocsOnlySwaggerUIMiddleware` sends a request straight on unless its path is one of the
  Swagger UI's or the spec's, instead of matching every request against their routes.

`TUNED_MIDDLEWARES` is Connexion's default middleware list with those three swapped in.

They lean on about a dozen Connexion internals, so they are fenced: `CONNEXION_TUNING=false`
runs stock Connexion, and `tests/web/test_app_tuning.py` sends one table of requests to the
stock and the tuned app and requires the same status, headers and body from both. A
Connexion upgrade that breaks an assumption fails there as "tuned differs from stock".
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.apps.abstract import AbstractApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import context, operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import (
    CONTEXT_NAME,
    AsyncParameterDecorator,
    inspect_function_arguments,
    unwrap_decorators,
)
from connexion.exceptions import OAuthResponseProblem
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.security import NO_VALUE
from connexion.utils import is_nullable
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from authapi.web.handler_lookup import SECURITY_HANDLERS, SpecNamedBearerHandler
from authapi.web.route_index import IndexedRouter, route_path

# Body validators kept per operation, one per (media type, charset) as the client spells them.
MAX_REMEMBERED_MEDIA_TYPES = 8


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


class ContextOnlyParameterDecorator(AsyncParameterDecorator):  # type: ignore[misc]
    """Call a handler of an operation without parameters or body with its context only.

    What Connexion's own decorator passes such a handler: no path, query or body values
    (strict validation has refused any query), just the security context it asks for.
    """

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))

        @functools.wraps(function)
        async def wrapper(_request: Any = None) -> Any:
            current = context._get_current_object()
            kwargs = {k: v for k, v in current.items() if has_kwargs or k in arguments}
            if CONTEXT_NAME in arguments:
                kwargs[CONTEXT_NAME] = current
            return await function(**kwargs)

        return wrapper


class ContextOnlyStarletteDecorator(DecorateOnceStarletteDecorator):
    """Decorate once, for an operation with no input: no request object is built per call."""

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return ContextOnlyParameterDecorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            return await decorated()

        return wrapper


class DecorateOnceOperation(AsyncOperation):  # type: ignore[misc]
    """An operation whose decorated handler is built on first use and then kept."""

    takes_input = True

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator_cls = (
            DecorateOnceStarletteDecorator if self.takes_input else ContextOnlyStarletteDecorator
        )
        decorator = decorator_cls(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)


class DecorateOnceApi(AsyncApi):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.router = IndexedRouter.replacing(self.router)  # type: ignore[has-type]

    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        routed = DecorateOnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        routed.takes_input = bool(operation.parameters or operation.request_body)
        return routed


class DecorateOnceASGIApp(AsyncASGIApp):  # type: ignore[misc]
    api_cls = DecorateOnceApi


class DecorateOnceAsyncApp(AsyncApp):  # type: ignore[misc]
    """`AsyncApp`, with handlers decorated once per operation."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        # AsyncApp.__init__ only picks its ASGI app and hands every argument on.
        self._middleware_app = DecorateOnceASGIApp()
        AbstractApp.__init__(self, import_name, **kwargs)


class BearerHandlerWithFixedSignature(SpecNamedBearerHandler):
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


SECURITY_MAP = {**SECURITY_HANDLERS, "bearer": BearerHandlerWithFixedSignature}


class ValidateOnceOperation(RequestValidationOperation):  # type: ignore[misc]
    """Request validation with its validators built once per operation, not per request."""

    @functools.cached_property
    def _parameter_validator(self) -> Any:
        uri_parser = self._operation._uri_parser_class(
            self._operation.parameters, self._operation.body_definition()
        )
        return self._validator_map["parameter"](
            self._operation.parameters,
            uri_parser=uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )

    @functools.cached_property
    def _body_validators(self) -> dict[tuple[str, str], Any]:
        return {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._parameter_validator.validate(scope)
        if not self._operation.request_body:
            # No body declared: Connexion checks neither content type nor body here either.
            await self.next_app(scope, receive, send)
            return
        # Connexion's own steps, in its order, with the body validator built once per media
        # type: it keeps no state between requests, and builds its schema validator anew
        # each time it is made.
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        validator = self._body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    def _body_validator(self, mime_type: str, encoding: str) -> Any:
        key = (mime_type, encoding)
        validator = self._body_validators.get(key)
        if validator is not None:
            return validator
        schema = self._operation.body_schema(mime_type)
        validator_class = self._validator_map["body"].get(mime_type) if schema else None
        if validator_class is None:
            return None
        validator = validator_class(
            schema=schema,
            required=self._operation.request_body.get("required", False),
            nullable=is_nullable(self._operation.body_definition(mime_type)),
            encoding=encoding,
            strict_validation=self.strict_validation,
            uri_parser=self._operation.uri_parser_class(
                self._operation.parameters, self._operation.body_definition()
            ),
        )
        # The client writes the Content-Type: remember the few spellings real clients use,
        # never an unbounded variety of charsets and cases.
        if len(self._body_validators) < MAX_REMEMBERED_MEDIA_TYPES:
            self._body_validators[key] = validator
        return validator


class ValidateOnceAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return ValidateOnceOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class ValidateOnceMiddleware(RequestValidationMiddleware):  # type: ignore[misc]
    api_cls = ValidateOnceAPI


class IndexedRoutingMiddleware(RoutingMiddleware):  # type: ignore[misc]
    """Connexion's routing middleware, each API's operations routed by `IndexedRouter`."""

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        # Connexion mounts each API's own router, made inside add_api, at its base path.
        for route in self.router.routes:
            if isinstance(route, Mount) and type(route.app) is Router:
                route.app = route._base_app = IndexedRouter.replacing(route.app)


class DocsOnlySwaggerUIMiddleware(SwaggerUIMiddleware):  # type: ignore[misc]
    """The Swagger UI middleware, matching only requests under its own paths."""

    @functools.cached_property
    def _prefixes(self) -> tuple[str, ...]:
        # Every path the UI and the spec are served under, read off the routes once all
        # APIs are added (the first request comes after that).
        return tuple(_route_paths(self.router.routes, ""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not route_path(scope).startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _route_paths(routes: list[BaseRoute], prefix: str) -> list[str]:
    paths: list[str] = []
    for route in routes:
        path = prefix + getattr(route, "path", "")
        if isinstance(route, Mount) and route.routes:
            paths += _route_paths(route.routes, path)
        else:
            paths.append(path or "/")
    return paths


TUNED_MIDDLEWARES = [
    {
        SwaggerUIMiddleware: DocsOnlySwaggerUIMiddleware,
        RequestValidationMiddleware: ValidateOnceMiddleware,
        RoutingMiddleware: IndexedRoutingMiddleware,
    }.get(middleware, middleware)
    for middleware in ConnexionMiddleware.default_middlewares
]
