"""Device tokens: issued for one account's device, recognized for it only, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from authapi import devices as devices_module
from authapi.devices import MAX_DEVICE_TOKEN_BYTES, DeviceTokens
from authapi.keys import derive_key, generate_private_key_pem, load_keyring
from authapi.records import User
from authapi.settings import Settings
from tests.config import SECRET

NOW = 1_700_000_000
TTL = 365 * 86400
KEY = derive_key(SECRET.encode(), "device-token")
OTHER_KEY = derive_key(b"another secret of at least thirty-two bytes", "device-token")


def user(user_id: str = "5f0c2f8e-1c1a-4a55-9e43-0d7f2b9d8c11", version: int = 0) -> User:
    created = datetime.fromtimestamp(NOW, UTC)
    return User(user_id, "ada@example.com", "hash", created, credential_version=version)


@pytest.fixture
def devices() -> DeviceTokens:
    return DeviceTokens((KEY,), TTL)


def test_an_issued_token_is_recognized_for_its_account_until_it_expires(
    devices: DeviceTokens,
) -> None:
    ada = user()
    token = devices.issue(ada.id, ada.credential_version, NOW)
    device_id = devices.recognize(token, ada, NOW)
    assert device_id is not None
    assert devices.recognize(token, ada, NOW + TTL - 1) == device_id
    assert devices.recognize(token, ada, NOW + TTL) is None


def test_a_token_is_ascii_and_well_under_the_limit(devices: DeviceTokens) -> None:
    token = devices.issue(user().id, 2**62, NOW)
    assert token.isascii()
    assert len(token) <= MAX_DEVICE_TOKEN_BYTES // 2


def test_each_new_device_gets_its_own_id_and_a_renewal_keeps_it(devices: DeviceTokens) -> None:
    ada = user()
    first = devices.recognize(devices.issue(ada.id, 0, NOW), ada, NOW)
    second = devices.recognize(devices.issue(ada.id, 0, NOW), ada, NOW)
    assert first is not None and second is not None and first != second
    renewed = devices.issue(ada.id, 0, NOW + 100, first)
    assert devices.recognize(renewed, ada, NOW + TTL + 50) == first


def test_another_accounts_token_or_an_older_credential_version_is_none(
    devices: DeviceTokens,
) -> None:
    ada, bob = user(), user("0b9a7f4c-6a55-4d7b-9a1e-2f1d3c4b5a69")
    assert devices.recognize(devices.issue(bob.id, 0, NOW), ada, NOW) is None
    stale = devices.issue(ada.id, 0, NOW)
    assert devices.recognize(stale, user(version=1), NOW) is None


def test_a_token_for_an_unknown_account_is_none(devices: DeviceTokens) -> None:
    assert devices.recognize(devices.issue(user().id, 0, NOW), None, NOW) is None


def tampered_mac(token: str) -> str:
    body, _, mac = token.rpartition(".")
    return f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


def other_version(token: str) -> str:
    parts = token.split(".")
    parts[3] = "1"
    return ".".join(parts)


def longer_life(token: str) -> str:
    parts = token.split(".")
    parts[4] = str(int(parts[4]) + 86400)
    return ".".join(parts)


def leading_zero(token: str) -> str:
    # The same values spelled another way: only the spelling that was signed is a token.
    parts = token.split(".")
    parts[3] = "0" + parts[3]
    return ".".join(parts)


@pytest.mark.parametrize("tamper", [tampered_mac, other_version, longer_life, leading_zero])
def test_a_tampered_token_is_none(devices: DeviceTokens, tamper: object) -> None:
    ada = user()
    token = devices.issue(ada.id, 0, NOW)
    assert callable(tamper)
    assert devices.recognize(tamper(token), ada, NOW) is None


def test_a_token_signed_under_another_key_is_none(devices: DeviceTokens) -> None:
    ada = user()
    forged = DeviceTokens((OTHER_KEY,), TTL).issue(ada.id, 0, NOW)
    assert devices.recognize(forged, ada, NOW) is None


def test_a_retired_key_still_recognizes_and_the_current_one_signs() -> None:
    ada = user()
    before = DeviceTokens((OTHER_KEY,), TTL).issue(ada.id, 0, NOW)
    rotated = DeviceTokens((KEY, OTHER_KEY), TTL)
    assert rotated.recognize(before, ada, NOW) is not None
    assert DeviceTokens((KEY,), TTL).recognize(rotated.issue(ada.id, 0, NOW), ada, NOW)


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        "garbage",
        "dt1....",
        "dt1.é☃.\x00.0.0.mac",
        "x" * (MAX_DEVICE_TOKEN_BYTES + 1),
        "dt1." + "9" * 5000,
        12345,
        ["dt1"],
    ],
)
def test_anything_else_is_none_never_an_error(devices: DeviceTokens, presented: object) -> None:
    assert devices.recognize(presented, user(), NOW) is None  # type: ignore[arg-type]


def test_an_oversized_token_is_none_even_when_it_ends_in_a_valid_one(
    devices: DeviceTokens,
) -> None:
    ada = user()
    token = devices.issue(ada.id, 0, NOW)
    assert devices.recognize(" " * MAX_DEVICE_TOKEN_BYTES + token, ada, NOW) is None


def test_an_unknown_account_costs_the_same_signature_checks_as_a_known_one(
    devices: DeviceTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    mac = devices_module._mac

    def counted(key: bytes, body: str) -> str:
        calls.append(body)
        return mac(key, body)

    ada = user()
    token = devices.issue(ada.id, 0, NOW)
    monkeypatch.setattr(devices_module, "_mac", counted)
    devices.recognize(token, ada, NOW)
    known = len(calls)
    devices.recognize(token, None, NOW)
    assert known == len(calls) - known == 1


def test_device_keys_are_derived_apart_from_the_signing_and_csrf_keys() -> None:
    ring = load_keyring(Settings(jwt_secret_key=SECRET))
    (device_key,) = ring.device_keys
    assert device_key not in ring.csrf_keys
    assert device_key != SECRET.encode()
    rotated = load_keyring(
        Settings(
            jwt_secret_key="a new secret of at least thirty-two bytes!",
            jwt_previous_secret_keys=(SECRET,),
        )
    )
    assert rotated.device_keys[1] == device_key


def test_an_asymmetric_signing_key_derives_one_device_key_from_its_private_half() -> None:
    pem = generate_private_key_pem("EdDSA")
    ring = load_keyring(Settings(jwt_algorithm="EdDSA", jwt_private_key=pem))
    assert len(ring.device_keys) == 1
    again = load_keyring(Settings(jwt_algorithm="EdDSA", jwt_private_key=pem))
    assert again.device_keys == ring.device_keys
    other = load_keyring(
        Settings(jwt_algorithm="EdDSA", jwt_private_key=generate_private_key_pem("EdDSA"))
    )
    assert other.device_keys != ring.device_keys
