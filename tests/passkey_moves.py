"""The moves of passkey tests: add a passkey with the software authenticator, log in with it."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.clock import Clock
from tests.mfa_moves import MFA, MfaApi, bearer
from tooling.soft_authenticator import SoftAuthenticator

PASSKEYS = "/api/v1/auth/passkeys"
BROWSER_VERIFY = "/api/v1/auth/browser/passkeys/authentication/verify"


class PasskeyApi(MfaApi):
    """The MFA moves, and the passkeys'."""

    def __init__(self, client: TestClient, clock: Clock) -> None:
        super().__init__(client, clock)
        self.authenticator = SoftAuthenticator()

    def registration_options(self, access_token: str) -> Any:
        return self.client.post(f"{PASSKEYS}/registration/options", headers=bearer(access_token))

    def register_passkey(
        self,
        access_token: str,
        authenticator: SoftAuthenticator | None = None,
        name: str | None = None,
        **lies: Any,
    ) -> Any:
        """Ask for options, let the authenticator create a credential, and send it back."""
        options = self.registration_options(access_token)
        assert options.status_code == 200, options.text
        credential = (authenticator or self.authenticator).create(options.json(), **lies)
        body: dict[str, Any] = {"challenge_id": options.json()["challenge_id"]}
        body["credential"] = credential
        if name is not None:
            body["name"] = name
        return self.client.post(
            f"{PASSKEYS}/registration/verify", headers=bearer(access_token), json=body
        )

    def passkey(self, access_token: str, name: str | None = None) -> str:
        """Add a passkey and return its id."""
        answer = self.register_passkey(access_token, name=name)
        assert answer.status_code == 201, answer.text
        passkey_id: str = answer.json()["id"]
        return passkey_id

    def login_options(self) -> Any:
        answer = self.client.post(f"{PASSKEYS}/authentication/options")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def passkey_login(
        self,
        authenticator: SoftAuthenticator | None = None,
        options: Any = None,
        browser: bool = False,
        **lies: Any,
    ) -> Any:
        """Ask for login options (unless given), sign them, and send the assertion."""
        options = options or self.login_options()
        credential = (authenticator or self.authenticator).get(options, **lies)
        return self.send_assertion(options["challenge_id"], credential, browser)

    def send_assertion(self, challenge_id: str, credential: Any, browser: bool = False) -> Any:
        body = {"challenge_id": challenge_id, "credential": credential}
        if browser:
            return self.client.post(
                BROWSER_VERIFY, json=body, headers={"Origin": "http://testserver"}
            )
        return self.client.post(f"{PASSKEYS}/authentication/verify", json=body)

    def webauthn_options(self, mfa_token: str) -> Any:
        return self.client.post(f"{MFA}/webauthn/options", json={"mfa_token": mfa_token})

    def verify_with_passkey(self, mfa_token: str, browser: bool = False, **lies: Any) -> Any:
        """Finish a password login with the passkey, through /mfa/webauthn/options."""
        options = self.webauthn_options(mfa_token)
        assert options.status_code == 200, options.text
        credential = self.authenticator.get(options.json(), **lies)
        body = {
            "mfa_token": mfa_token,
            "method": "webauthn",
            "challenge_id": options.json()["challenge_id"],
            "credential": credential,
        }
        path = "/api/v1/auth/browser/mfa/verify" if browser else f"{MFA}/verify"
        headers = {"Origin": "http://testserver"} if browser else None
        return self.client.post(path, json=body, headers=headers)

    def remove_passkey(self, access_token: str, passkey_id: str) -> Any:
        return self.client.delete(f"{PASSKEYS}/{passkey_id}", headers=bearer(access_token))
