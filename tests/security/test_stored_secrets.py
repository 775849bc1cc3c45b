"""A stolen database: it holds Argon2id and refresh-token hashes, never the secrets."""

from __future__ import annotations

import hashlib
from pathlib import Path

from authapi.store import MemoryStore
from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.clock import Clock
from tests.config import SECRET, settings_for


def log_in_rotate_and_log_out(api: Api) -> list[str]:
    """Leave a user, a rotated session and an ended one behind; return every token issued."""
    first = api.account()
    rotated = api.refresh(first.refresh_token).json()
    second = api.login().json()
    assert api.logout(second["access_token"]).status_code == 204
    return [
        first.access_token,
        first.refresh_token,
        rotated["access_token"],
        rotated["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]


def test_sqlite_file_holds_no_password_and_no_token(tmp_path: Path, clock: Clock) -> None:
    database = tmp_path / "auth.db"
    settings = settings_for(storage_url=f"sqlite:///{database}")
    with create_app(settings, clock=clock).test_client() as client:
        tokens = log_in_rotate_and_log_out(Api(client))
    dump = b"".join(path.read_bytes() for path in tmp_path.glob("auth.db*"))
    # The dump is the real thing: the account, its Argon2id hash and a refresh-token hash are in it.
    assert b"ada@example.com" in dump
    assert b"$argon2id$v=19$m=8,t=1,p=1$" in dump
    assert hashlib.sha256(tokens[3].encode()).hexdigest().encode() in dump
    for secret in (PASSWORD, SECRET, *tokens):
        assert secret.encode() not in dump
    for token in tokens:
        signature = token.rpartition(".")[2]
        assert signature.encode() not in dump


def test_memory_store_holds_no_password_and_no_token(clock: Clock) -> None:
    store = MemoryStore()
    settings = settings_for(storage_url="memory://")
    with create_app(settings, store=store, clock=clock).test_client() as client:
        tokens = log_in_rotate_and_log_out(Api(client))
    held = repr(vars(store))
    assert "ada@example.com" in held and "$argon2id$v=19$m=8,t=1,p=1$" in held
    for secret in (PASSWORD, SECRET, *tokens):
        assert secret not in held
