"""Decide whether a browser request comes from an origin the API serves.

A browser names the page that sent a request in `Origin` and cannot be made to lie about
it; a page on another site can make the browser send a form, never choose that header.
An origin is a scheme, a host and a port: `http://auth.example.com` is not the API at
`https://auth.example.com`, since any network on the way can write an http page.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_allowed_origin(
    origin: str | None, scheme: str, host: str | None, listed: Iterable[str]
) -> bool:
    """Tell whether `origin` is the API's own (`scheme` and `Host`) or a listed one."""
    if origin is None:
        # Browsers send Origin with every POST; only other clients leave it out, and a
        # cross-site request forgery needs a browser.
        return True
    parsed = _parse(origin)
    if parsed is None:
        # "null" (a sandboxed frame, a file:// page) or anything else that is no origin.
        return False
    origin_scheme, netloc = parsed
    own = scheme.lower()
    if (
        host is not None
        and origin_scheme == own
        and netloc == _strip_default_port(own, host.strip().lower())
    ):
        return True
    return any(_parse(candidate) == parsed for candidate in listed if candidate != "*")


def _parse(origin: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(origin.strip().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    hostname = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = hostname if port in (None, _DEFAULT_PORTS[scheme]) else f"{hostname}:{port}"
    return scheme, netloc


def _strip_default_port(scheme: str, host: str) -> str:
    if scheme not in _DEFAULT_PORTS:
        return host
    suffix = f":{_DEFAULT_PORTS[scheme]}"
    return host[: -len(suffix)] if host.endswith(suffix) else host
