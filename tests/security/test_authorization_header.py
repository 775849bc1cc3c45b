"""Odd Authorization headers: only a bearer token in the one header authenticates.

RFC 7235 makes the scheme case-insensitive and RFC 6750 allows one or more spaces before
the token, so those spellings work; everything else is refused without a server error.
"""

from __future__ import annotations

import pytest

from authapi.tokens import TokenCodec
from tests.api_moves import Account, Api
from tests.security.refusals import INVALID_TOKEN_CHALLENGE, assert_token_refused

PROFILE = "/api/v1/protected/profile"
NO_TOKEN_CHALLENGE = 'Bearer realm="auth-api"'


@pytest.fixture
def account(api: Api) -> Account:
    return api.account()


@pytest.mark.parametrize(
    "template",
    ["bearer {}", "BEARER {}", "Bearer  {}", "Bearer\t{}", "  Bearer {}"],
    ids=["lowercase", "uppercase", "two-spaces", "tab", "leading-spaces"],
)
def test_bearer_scheme_spelling_variants_still_need_the_real_token(
    api: Api, account: Account, template: str
) -> None:
    accepted = api.client.get(
        PROFILE, headers={"Authorization": template.format(account.access_token)}
    )
    assert accepted.status_code == 200
    forged = api.client.get(PROFILE, headers={"Authorization": template.format("not.a.token")})
    assert_token_refused(forged)


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        ("Bearer", NO_TOKEN_CHALLENGE),
        ("Bearer ", INVALID_TOKEN_CHALLENGE),
        ("", NO_TOKEN_CHALLENGE),
        ("Basic YWRhQGV4YW1wbGUuY29tOmNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbGU=", NO_TOKEN_CHALLENGE),
        ("Digest username=ada", NO_TOKEN_CHALLENGE),
        ("Token abc", NO_TOKEN_CHALLENGE),
    ],
    ids=["scheme-only", "scheme-and-space", "empty", "basic", "digest", "other-scheme"],
)
def test_missing_token_or_other_scheme_is_refused(
    api: Api, account: Account, authorization: str, challenge: str
) -> None:
    response = api.client.get(PROFILE, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == challenge


def test_basic_credentials_of_a_real_account_do_not_authenticate(
    api: Api, account: Account
) -> None:
    response = api.client.get(PROFILE, auth=(account.email, account.password))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE


def test_token_followed_by_junk_is_refused(api: Api, account: Account) -> None:
    response = api.client.get(
        PROFILE, headers={"Authorization": f"Bearer {account.access_token} x"}
    )
    assert_token_refused(response)


def test_two_authorization_headers_are_a_400_invalid_request(api: Api, account: Account) -> None:
    bearer = f"Bearer {account.access_token}"
    for second in (bearer, "Bearer not.a.token", "Basic YTpi"):
        response = api.client.get(
            PROFILE, headers=[("Authorization", bearer), ("Authorization", second)]
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert (
            response.headers["www-authenticate"]
            == 'Bearer realm="auth-api", error="invalid_request"'
        )


def test_ten_mib_bearer_token_is_refused_before_any_token_work(
    api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits answer from the header's length alone: the token is never parsed or verified.
    decoded: list[str] = []
    original = TokenCodec.decode
    monkeypatch.setattr(
        TokenCodec,
        "decode",
        lambda codec, token, expected: decoded.append(token) or original(codec, token, expected),
    )
    huge = "Bearer " + "A" * (10 * 1024 * 1024)
    response = api.client.get(PROFILE, headers={"Authorization": huge})
    assert response.status_code == 431
    assert "AAAA" not in response.text
    assert decoded == []
    assert api.profile(account.access_token).status_code == 200
    assert len(decoded) == 1


def test_token_in_the_query_string_is_not_accepted(api: Api, account: Account) -> None:
    for name in ("access_token", "token", "jwt"):
        response = api.client.get(f"{PROFILE}?{name}={account.access_token}")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE


def test_token_in_a_cookie_is_not_accepted(api: Api, account: Account) -> None:
    api.client.cookies.set("access_token", account.access_token)
    response = api.client.get(PROFILE)
    api.client.cookies.clear()
    assert response.status_code == 401
