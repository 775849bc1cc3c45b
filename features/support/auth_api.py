"""Every URL, header and JSON body the features speak, so the .feature files name none."""

from __future__ import annotations

from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import urljoin

import requests
from behave.runner import Context

API = "/api/v1"
TASKS = f"{API}/tasks"
BROWSER = f"{API}/auth/browser"
SESSION_COOKIE = "__Secure-refresh_token"
TIMEOUT_SECONDS = 10


class AuthApi:
    """Call the auth API at `base_url` through one HTTP session."""

    def __init__(self, base_url: str, http: requests.Session) -> None:
        self.base_url = base_url
        self.http = http

    def register(self, email: str, password: str) -> requests.Response:
        """Ask for an account."""
        return self._post("/auth/register", {"email": email, "password": password})

    def login(
        self, email: str | None, password: str | None, device_token: str | None = None
    ) -> requests.Response:
        """Ask for a session; a None field is left out of the body."""
        fields = {"email": email, "password": password, "device_token": device_token}
        return self._post("/auth/login", {k: v for k, v in fields.items() if v is not None})

    def refresh(self, refresh_token: str) -> requests.Response:
        """Trade a refresh token for a new pair."""
        return self._post("/auth/refresh", {"refresh_token": refresh_token})

    def logout(self, access_token: str | None) -> requests.Response:
        """End the session of an access token."""
        return self._post("/auth/logout", None, access_token)

    def profile(self, access_token: str | None) -> requests.Response:
        """Read the profile that an access token opens."""
        return self.get(f"{API}/protected/profile", access_token)

    def list_sessions(self, access_token: str | None) -> requests.Response:
        """Read her live sessions."""
        return self.get(f"{API}/auth/sessions", access_token)

    def end_session(self, access_token: str | None, session_id: str) -> requests.Response:
        """End one of her sessions."""
        return self._send("DELETE", f"{API}/auth/sessions/{session_id}", None, access_token)

    def activity(self, access_token: str | None) -> requests.Response:
        """Read the first page of what happened to her account."""
        return self.http.get(
            f"{self.base_url}{API}/auth/activity",
            params={"limit": "100"},
            headers=_bearer(access_token),
            timeout=TIMEOUT_SECONDS,
        )

    def create_task(self, access_token: str | None, fields: dict[str, Any]) -> requests.Response:
        """Add a task with the given fields."""
        return self._send("POST", TASKS, fields, access_token)

    def list_tasks(
        self,
        access_token: str | None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        completed: bool | None = None,
    ) -> requests.Response:
        """Read one page of her tasks; a None parameter is left out of the query."""
        query = {
            "limit": None if limit is None else str(limit),
            "cursor": cursor,
            "completed": None if completed is None else str(completed).lower(),
        }
        return self.http.get(
            self.base_url + TASKS,
            params={k: v for k, v in query.items() if v is not None},
            headers=_bearer(access_token),
            timeout=TIMEOUT_SECONDS,
        )

    def read_task(self, access_token: str | None, task_id: str) -> requests.Response:
        """Read one task."""
        return self.get(f"{TASKS}/{task_id}", access_token)

    def replace_task(
        self, access_token: str | None, task_id: str, fields: dict[str, Any]
    ) -> requests.Response:
        """Replace every field of one task."""
        return self._send("PUT", f"{TASKS}/{task_id}", fields, access_token)

    def change_task(
        self, access_token: str | None, task_id: str, fields: dict[str, Any]
    ) -> requests.Response:
        """Change only the given fields of one task."""
        return self._send("PATCH", f"{TASKS}/{task_id}", fields, access_token)

    def delete_task(self, access_token: str | None, task_id: str) -> requests.Response:
        """Delete one task."""
        return self._send("DELETE", f"{TASKS}/{task_id}", None, access_token)

    def browser_login(self, email: str, password: str, origin: str) -> requests.Response:
        """Log in as a browser app at `origin` does."""
        return self._browser("login", {"Origin": origin}, {"email": email, "password": password})

    def browser_refresh(
        self, cookie: str | None, csrf_token: str | None, origin: str
    ) -> requests.Response:
        """Refresh a browser session with what the browser holds and the page sends."""
        return self._browser("refresh", _browser_headers(cookie, csrf_token, origin))

    def browser_logout(
        self, cookie: str | None, csrf_token: str | None, origin: str
    ) -> requests.Response:
        """End a browser session with what the browser holds and the page sends."""
        return self._browser("logout", _browser_headers(cookie, csrf_token, origin))

    def introspect(self, token: str, credentials: tuple[str, str] | None) -> requests.Response:
        """Ask about a token as a resource server with HTTP Basic `credentials`."""
        return self.http.post(
            f"{self.base_url}{API}/auth/introspect",
            data={"token": token},
            auth=credentials,
            timeout=TIMEOUT_SECONDS,
        )

    def revoke(self, token: str) -> requests.Response:
        """Revoke a token, as any holder of it may."""
        return self.http.post(
            f"{self.base_url}{API}/auth/revoke", data={"token": token}, timeout=TIMEOUT_SECONDS
        )

    def health(self) -> requests.Response:
        """Ask whether the service is up."""
        return self.get("/health")

    def contract(self) -> requests.Response:
        """Fetch the OpenAPI document."""
        return self.get("/openapi.json")

    def docs(self) -> requests.Response:
        """Open the Swagger UI."""
        return self.get("/docs")

    def follow(self, location: str, access_token: str | None) -> requests.Response:
        """GET the address a Location header gave, relative to the service or absolute."""
        return self.http.get(
            urljoin(self.base_url + "/", location),
            headers=_bearer(access_token),
            timeout=TIMEOUT_SECONDS,
        )

    def get(self, path: str, access_token: str | None = None) -> requests.Response:
        """GET any path of the service."""
        return self.http.get(
            self.base_url + path, headers=_bearer(access_token), timeout=TIMEOUT_SECONDS
        )

    def _post(
        self, path: str, body: dict[str, Any] | None, access_token: str | None = None
    ) -> requests.Response:
        return self._send("POST", API + path, body, access_token)

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None, access_token: str | None
    ) -> requests.Response:
        return self.http.request(
            method,
            self.base_url + path,
            json=body,
            headers=_bearer(access_token),
            timeout=TIMEOUT_SECONDS,
        )

    def _browser(
        self, operation: str, headers: dict[str, str], body: dict[str, Any] | None = None
    ) -> requests.Response:
        response = self.http.post(
            f"{self.base_url}{BROWSER}/{operation}",
            json=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
        # The steps keep the cookie as a browser would, and send it by hand: the session's
        # jar would keep a Secure cookie from plain http to itself, and over https send it twice.
        self.http.cookies.clear()
        return response


def session_cookie(response: requests.Response) -> Morsel[str] | None:
    """Return the session cookie a response sets, with its attributes, or None."""
    # One header at a time: requests joins them with commas, which no cookie parser undoes,
    # and a login sets the device cookie beside the session's.
    for header in response.raw.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if SESSION_COOKIE in jar:
            return jar[SESSION_COOKIE]
    return None


def _browser_headers(cookie: str | None, csrf_token: str | None, origin: str) -> dict[str, str]:
    headers = {"Origin": origin}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    if csrf_token is not None:
        headers["X-CSRF-Token"] = csrf_token
    return headers


def api(context: Context) -> AuthApi:
    """Return the API client of the running scenario."""
    return AuthApi(context.base_url, context.http)


def problem(response: requests.Response) -> dict[str, Any]:
    """Return the problem document of an error response, checking its media type."""
    media_type = response.headers.get("Content-Type", "")
    assert media_type.startswith("application/problem+json"), media_type
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code, body
    return body


def refused(response: requests.Response, *, token_presented: bool) -> None:
    """Check a 401 problem with a Bearer challenge that blames a token only if one was sent."""
    assert response.status_code == 401, (response.status_code, response.text)
    problem(response)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith('Bearer realm="'), challenge
    blamed = 'error="invalid_token"' in challenge
    assert blamed == token_presented, challenge


def _bearer(access_token: str | None) -> dict[str, str]:
    return {} if access_token is None else {"Authorization": f"Bearer {access_token}"}
