"""Clients of the browser-session and OAuth endpoints, as a browser and a resource server are."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from starlette.testclient import TestClient

from authapi.settings import Settings
from tests.api_moves import PASSWORD
from tests.config import settings_for

BROWSER = "/api/v1/auth/browser"
COOKIE = "__Secure-refresh_token"
DEVICE_COOKIE = "__Secure-device_token"
APP_ORIGIN = "https://app.example.com"
RS_ID = "notes-service"
RS_SECRET = "a-resource-server-secret-of-32-bytes-or-more"
# Stands for "what the session last gave the browser" in a call's keyword arguments.
SESSION = object()


# One listed app origin and one introspection client: `pytest.mark.settings(**BROWSER_SETTINGS)`.
BROWSER_SETTINGS: dict[str, Any] = {
    "cors_origins": (APP_ORIGIN,),
    "introspection_clients": ((RS_ID, RS_SECRET),),
}


def browser_settings(store_url: str, **overrides: Any) -> Settings:
    """The test settings with BROWSER_SETTINGS, on this store, for fixtures that build their own."""
    return settings_for(storage_url=store_url, **{**BROWSER_SETTINGS, **overrides})


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header, read the way a browser reads it."""

    name: str
    value: str
    attributes: dict[str, str]

    @classmethod
    def of(cls, response: Any, name: str = COOKIE) -> SetCookie | None:
        """Return the response's Set-Cookie of the cookie `name`, if it sets that one."""
        found = [cookie for cookie in cls.all_of(response) if cookie.name == name]
        assert len(found) <= 1, f"{name} is set more than once"
        return found[0] if found else None

    @classmethod
    def all_of(cls, response: Any) -> list[SetCookie]:
        """Return every Set-Cookie of the response, one per header."""
        cookies = []
        for header in response.headers.get_list("set-cookie"):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            ((name, morsel),) = parsed.items()
            flags = {key: str(value) for key, value in morsel.items() if value not in ("", False)}
            cookies.append(cls(name, morsel.value, flags))
        return cookies


class Browser:
    """A browser tab of the app at `origin`: it keeps the cookie and the CSRF token it was given.

    The cookie is sent by hand: a test client over http keeps `Secure` cookies to itself.
    """

    def __init__(self, client: TestClient, origin: str | None = APP_ORIGIN) -> None:
        self.client = client
        self.origin = origin
        self.cookie: str | None = None
        # The device cookie outlives sessions: kept, and sent with every login, as browsers do.
        self.device_cookie: str | None = None
        self.csrf_token: str | None = None
        self.access_token: str | None = None

    def login(
        self, email: str = "ada@example.com", password: str = PASSWORD, **headers: str
    ) -> Any:
        sent = {**self._origin_header(self.origin), **headers}
        if self.device_cookie is not None:
            sent["Cookie"] = f"{DEVICE_COOKIE}={self.device_cookie}"
        response = self.client.post(
            f"{BROWSER}/login", json={"email": email, "password": password}, headers=sent
        )
        self._keep(response)
        return response

    def refresh(self, **kwargs: Any) -> Any:
        response = self.client.post(f"{BROWSER}/refresh", headers=self._headers(**kwargs))
        self._keep(response)
        return response

    def logout(self, **kwargs: Any) -> Any:
        response = self.client.post(f"{BROWSER}/logout", headers=self._headers(**kwargs))
        self._keep(response)
        return response

    def profile(self) -> Any:
        return self.client.get(
            "/api/v1/protected/profile", headers={"Authorization": f"Bearer {self.access_token}"}
        )

    def _headers(
        self, *, cookie: Any = SESSION, csrf_token: Any = SESSION, origin: Any = SESSION
    ) -> dict[str, Any]:
        cookie = self.cookie if cookie is SESSION else cookie
        csrf_token = self.csrf_token if csrf_token is SESSION else csrf_token
        headers = self._origin_header(self.origin if origin is SESSION else origin)
        if cookie is not None:
            headers["Cookie"] = f"{COOKIE}={cookie}"
        if csrf_token is not None:
            headers["X-CSRF-Token"] = csrf_token
        return headers

    @staticmethod
    def _origin_header(origin: str | None) -> dict[str, Any]:
        return {} if origin is None else {"Origin": origin}

    def _keep(self, response: Any) -> None:
        set_cookie = SetCookie.of(response)
        if set_cookie is not None:
            expired = set_cookie.attributes.get("max-age") == "0"
            self.cookie = None if expired else set_cookie.value
        device = SetCookie.of(response, DEVICE_COOKIE)
        if device is not None:
            expired = device.attributes.get("max-age") == "0"
            self.device_cookie = None if expired else device.value
        if response.status_code == 200:
            body = response.json()
            self.csrf_token = body["csrf_token"]
            self.access_token = body["access_token"]


def basic(client_id: str = RS_ID, secret: str = RS_SECRET) -> dict[str, str]:
    """Return the HTTP Basic header of a resource server."""
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def introspect(
    client: TestClient, token: str, hint: str | None = None, headers: dict[str, str] | None = None
) -> Any:
    """Ask about a token as the resource server."""
    form = {"token": token} if hint is None else {"token": token, "token_type_hint": hint}
    return client.post(
        "/api/v1/auth/introspect", data=form, headers=basic() if headers is None else headers
    )


def revoke(client: TestClient, token: str, hint: str | None = None) -> Any:
    """Revoke a token, as any holder of it may."""
    form = {"token": token} if hint is None else {"token": token, "token_type_hint": hint}
    return client.post("/api/v1/auth/revoke", data=form)
