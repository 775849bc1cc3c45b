"""The moves most API tests start with: register, log in, refresh, read the profile, log out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A registered user and the tokens of her latest login."""

    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """The moves most tests start with."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(self, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
        return self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )

    def login(self, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
        return self.client.post("/api/v1/auth/login", json={"email": email, "password": password})

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})

    def profile(self, access_token: str) -> Any:
        return self.client.get(
            "/api/v1/protected/profile", headers={"Authorization": f"Bearer {access_token}"}
        )

    def logout(self, access_token: str, body: dict[str, str] | None = None) -> Any:
        return self.client.post(
            "/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {access_token}"},
            json=body,
        )

    def account(self, email: str = "ada@example.com", password: str = PASSWORD) -> Account:
        """Register (if needed) and log in."""
        self.register(email, password)
        tokens = self.login(email, password).json()
        return Account(email, password, tokens["access_token"], tokens["refresh_token"])
