"""A Starlette router that tries only the routes a request's path can match.

Starlette matches a request against every route in turn, and Connexion makes one route per
operation in spec order, twice over (its routing middleware, then the app). With 37 paths
the protected profile, near the end of the spec, paid some 30 regex matches a request: a
cost that grew with every operation added anywhere, and most of what the protected GET
lost between the second-factor work and the passkeys (bench `claims-cost`).

A route without path parameters matches exactly one path, so those are indexed by path. A
request tries the routes of its own path and every route with parameters (and any other
kind, such as a mount), in the router's order: exactly the routes that can match it, in
the order Starlette would try them. When none of them does, Starlette's own routing runs
over every route, for its 405s, trailing-slash redirects and default, as if nothing were
indexed.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    """A `Router` that skips the parameterless routes of other paths."""

    _indexed_count = -1
    _by_path: dict[str, list[BaseRoute]]
    _others: list[BaseRoute]

    @classmethod
    def replacing(cls, router: Router) -> IndexedRouter:
        """Return an indexed router with `router`'s routes, default and slash redirects."""
        return cls(
            routes=router.routes,
            redirect_slashes=router.redirect_slashes,
            default=router.default,
        )

    def _candidates(self, path: str) -> list[BaseRoute]:
        # Routes are added after the router is made; the index follows their number.
        if self._indexed_count != len(self.routes):
            self._index()
        return self._by_path.get(path, self._others)

    def _index(self) -> None:
        def exact(route: BaseRoute) -> str | None:
            if isinstance(route, Route) and not route.param_convertors:
                return route.path
            return None

        paths = {path for route in self.routes if (path := exact(route)) is not None}
        self._by_path = {
            path: [route for route in self.routes if exact(route) in (path, None)] for path in paths
        }
        self._others = [route for route in self.routes if exact(route) is None]
        self._indexed_count = len(self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._candidates(route_path(scope)):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)


def route_path(scope: Scope) -> str:
    """Return the path below the app's mount point, as Starlette's routing (private) does."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    return path[len(root_path) :] if path[len(root_path)] == "/" else path
