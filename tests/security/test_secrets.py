"""No password, token, hash or key ever leaves the service, in a response or in a log line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_moves import Api
from tests.clock import Clock
from tests.config import SECRET
from tests.forgery import claims_of, forge

PASSWORD = "a-very-distinctive-passphrase"
NEW_PASSWORD = "another-distinctive-passphrase"
SHORT = "Sh0rt!"
BCRYPT_PREFIXES = ("$2b$", "$2a$", "$2y$")


class Recorder:
    """Run requests through the API and keep every response, with the tokens it issued."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.responses: list[tuple[Any, set[str]]] = []
        self.tokens: set[str] = set()

    def __call__(self, response: Any) -> Any:
        issued: set[str] = set()
        if response.status_code == 200 and "refresh_token" in response.text:
            pair = response.json()
            issued = {pair["access_token"], pair["refresh_token"]}
            self.tokens |= issued
        self.responses.append((response, issued))
        return response


def run_full_flow(api: Api, clock: Clock) -> Recorder:
    """Register, fail, log in, refresh, replay, log out, change the password, send junk."""
    record = Recorder(api)
    client = api.client
    record(api.register("ada@example.com", PASSWORD))
    record(api.register("bob@example.com", SHORT))
    record(api.register("carol@example.com", "carol@example.com"))
    record(api.login("ada@example.com", PASSWORD + "-wrong"))
    record(api.login("nobody@example.com", PASSWORD))
    first = record(api.login("ada@example.com", PASSWORD)).json()
    second = record(api.refresh(first["refresh_token"])).json()
    clock.advance(11)
    record(api.refresh(first["refresh_token"]))  # reuse: the session is revoked
    record(api.profile(second["access_token"]))
    tokens = record(api.login("ada@example.com", PASSWORD)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    record(client.get("/api/v1/protected/profile", headers=headers))
    record(client.get("/api/v1/auth/sessions", headers=headers))
    record(
        client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD + "-guess", "new_password": NEW_PASSWORD},
        )
    )
    record(
        client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
    )
    record(api.login("ada@example.com", "x" * 500))
    record(client.post("/api/v1/auth/login", json={"email": PASSWORD, "password": PASSWORD}))
    record(client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": 5}))
    record(client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}))
    record(api.profile(tokens["access_token"] + "x"))
    record(api.profile(forge({**claims_of(tokens["access_token"]), "sub": "someone-else"})))
    record(api.logout(tokens["access_token"], {"refresh_token": tokens["refresh_token"]}))
    record(api.refresh(tokens["refresh_token"]))
    record(api.login("ada@example.com", NEW_PASSWORD))
    record(client.get("/.well-known/jwks.json"))
    return record


def leaks(text: str, secrets: set[str]) -> list[str]:
    found = [secret[:12] + "…" for secret in secrets if secret in text]
    found += [prefix for prefix in BCRYPT_PREFIXES if prefix in text]
    return found


@pytest.fixture
def flow(api: Api, clock: Clock, log_lines: list[str]) -> Recorder:
    return run_full_flow(api, clock)


def test_flow_really_issued_and_refused_tokens(flow: Recorder) -> None:
    # Pins the premise: the flow below has secrets to leak, and reached every branch.
    statuses = [response.status_code for response, _ in flow.responses]
    assert len(flow.tokens) == 8
    assert {200, 201, 204, 400, 401} <= set(statuses)


def test_no_response_body_or_header_carries_a_secret(flow: Recorder) -> None:
    for response, issued in flow.responses:
        # A token appears once: in the body of the response that issued it, and nowhere else.
        secrets = {PASSWORD, NEW_PASSWORD, SHORT, SECRET} | (flow.tokens - issued)
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
        assert not leaks(response.text, secrets), where
        assert not leaks(headers, secrets | issued), where


def test_no_log_line_carries_a_secret(
    flow: Recorder, log_lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(log_lines) + capsys.readouterr().out
    assert '"event": "reuse_detected"' in text  # the capture saw the flow's events
    secrets = {PASSWORD, NEW_PASSWORD, SHORT, SECRET} | flow.tokens
    assert not leaks(text, secrets)


def test_jwks_of_an_hmac_server_publishes_no_key(api: Api) -> None:
    response = api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"keys": []}
    assert SECRET not in response.text
