"""Hostile bodies: oversized, lying about their size, deeply nested, badly encoded, misshapen.

Each one gets a problem response in the 4xx range that names a rule, and never a 500.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for

MAX_BODY_BYTES = 64 * 1024
JSON = {"Content-Type": "application/json"}
LOGIN = "/api/v1/auth/login"


def assert_problem(response: object, status: int, detail: str | None = None) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    if detail is not None:
        assert detail in response.json()["detail"]  # type: ignore[attr-defined]


def oversized_json() -> bytes:
    return b'{"email": "ada@example.com", "password": "' + b"x" * MAX_BODY_BYTES + b'"}'


@pytest.mark.parametrize("path", [LOGIN, "/api/v1/auth/register", "/api/v1/auth/refresh"])
def test_body_over_max_body_bytes_with_content_length_is_a_413(api: Api, path: str) -> None:
    response = api.client.post(path, content=oversized_json(), headers=JSON)
    assert_problem(response, 413, str(MAX_BODY_BYTES))
    assert "xxxx" not in response.text


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    yield b'{"email": "ada@example.com", "password": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


def test_body_over_max_body_bytes_without_content_length_is_a_413(api: Api) -> None:
    # Found by this suite: a chunked body was never read, so never refused, until 8592d12.
    response = api.client.post(LOGIN, content=chunks(2 * MAX_BODY_BYTES), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_small_chunked_body_is_read(api: Api) -> None:
    # Found by this suite: a chunked body was taken as missing (400) until 8592d12.
    api.register()
    parts = [b'{"email": "ada@example.com", ', b'"password": "' + PASSWORD.encode() + b'"}']
    response = api.client.post(LOGIN, content=iter(parts), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.status_code == 200


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1e3", b"0x10", b"+2", "١٢".encode()], ids=repr)
def test_invalid_content_length_is_a_400(api: Api, length: bytes) -> None:
    response = api.client.post(LOGIN, content=b"{}", headers={**JSON, "Content-Length": length})
    assert_problem(response, 400, "Content-Length")


def test_declared_content_length_over_the_limit_is_refused_before_the_body(api: Api) -> None:
    # 19 digits, the most a header integer may have (tests/security/test_header_integers.py).
    response = api.client.post(
        LOGIN, content=b"{}", headers={**JSON, "Content-Length": "9999999999999999999"}
    )
    assert_problem(response, 413)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 3000 + b"]" * 3000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b', "password": "x"}',
    ],
    ids=["arrays", "objects", "inside-a-field"],
)
def test_deeply_nested_json_is_a_400(api: Api, body: bytes) -> None:
    assert len(body) < MAX_BODY_BYTES
    assert_problem(api.client.post(LOGIN, content=body, headers=JSON), 400, "nested too deeply")


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\xfd", b'{"email": "\xc3\x28@example.com", "password": "x"}', b"\xed\xa0\x80"],
    ids=["garbage", "bad-continuation", "encoded-surrogate"],
)
def test_invalid_utf8_is_a_400(api: Api, body: bytes) -> None:
    assert_problem(api.client.post(LOGIN, content=body, headers=JSON), 400, "UTF-8")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/json",
        "",
    ],
)
def test_wrong_content_type_is_a_415(api: Api, content_type: str) -> None:
    body = b'{"email": "ada@example.com", "password": "correct horse battery staple"}'
    response = api.client.post(LOGIN, content=body, headers={"Content-Type": content_type})
    assert_problem(response, 415)


@pytest.mark.parametrize("path", [LOGIN, "/api/v1/auth/register", "/api/v1/auth/refresh"])
@pytest.mark.parametrize("body", [b"[]", b'"ada@example.com"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_a_400(api: Api, path: str, body: bytes) -> None:
    assert_problem(api.client.post(path, content=body, headers=JSON), 400)


@pytest.mark.parametrize(
    "extra",
    [{"admin": True}, {"role": "admin"}, {"id": "00000000-0000-0000-0000-000000000000"}],
)
def test_unknown_fields_are_a_400_and_grant_nothing(api: Api, extra: dict[str, object]) -> None:
    body = {"email": "ada@example.com", "password": PASSWORD, **extra}
    response = api.client.post("/api/v1/auth/register", json=body)
    assert_problem(response, 400, "unknown field")
    assert api.login().status_code == 401


@pytest.mark.parametrize(
    "value",
    [b"1e400", b"-1e400", b"NaN", b"Infinity", b"123456789012345678901234567890", b"1.5e308"],
)
def test_huge_or_special_numbers_are_a_400(api: Api, value: bytes) -> None:
    body = b'{"email": "ada@example.com", "password": ' + value + b"}"
    assert_problem(api.client.post(LOGIN, content=body, headers=JSON), 400, "password")


def test_integer_with_thousands_of_digits_is_a_400(api: Api) -> None:
    body = b'{"email": ' + b"1" * 5000 + b', "password": "x"}'
    assert_problem(api.client.post(LOGIN, content=body, headers=JSON), 400)


@pytest.mark.parametrize("limit", ["9" * 5000, "1e400", "-1", "0", "101", "NaN"])
def test_out_of_range_query_numbers_are_a_400(api: Api, limit: str) -> None:
    account = api.account()
    response = api.client.get(f"/api/v1/tasks?limit={limit}", headers=account.headers)
    assert_problem(response, 400, "limit")


def test_duplicate_json_keys_use_the_last_value_everywhere(api: Api) -> None:
    body = (
        b'{"email": "first@example.com", "email": "second@example.com", '
        b'"password": "' + PASSWORD.encode() + b'"}'
    )
    response = api.client.post("/api/v1/auth/register", content=body, headers=JSON)
    # What was validated, stored and echoed is one and the same value.
    assert response.status_code == 201
    assert response.json()["email"] == "second@example.com"
    assert api.login("second@example.com").status_code == 200
    assert api.login("first@example.com").status_code == 401


def test_duplicate_keys_cannot_smuggle_an_invalid_value_past_validation(api: Api) -> None:
    body = (
        b'{"email": "ada@example.com", "password": "correct horse battery staple", "password": 1}'
    )
    assert_problem(api.client.post("/api/v1/auth/register", content=body, headers=JSON), 400)


@pytest.mark.parametrize("backend", BACKENDS)
def test_task_text_with_a_lone_surrogate_is_a_400_on_every_store(
    backend: str, clock: Clock
) -> None:
    # Found by this suite: SQLite and PostgreSQL could not encode it, a 500, until 8592d12.
    with tempfile.TemporaryDirectory() as directory, storage_url(backend, Path(directory)) as url:
        settings = settings_for(storage_url=url)
        with create_app(settings, clock=clock).test_client() as client:
            account = Api(client).account()
            for body in (
                b'{"title": "plans \\ud800"}',
                b'{"title": "t", "description": "\\udfff"}',
            ):
                response = client.post(
                    "/api/v1/tasks",
                    content=body,
                    headers={"Content-Type": "application/json", **account.headers},
                )
                assert_problem(response, 400, "UTF-8")
            listed = client.get("/api/v1/tasks", headers=account.headers)
            assert listed.json()["items"] == []
