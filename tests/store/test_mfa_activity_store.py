"""The second factor's changes carry their events: recorded in the change's step, or not at all."""

from __future__ import annotations

from authapi.activity import event
from authapi.records import Activity, ActivityType, Peer
from authapi.store import Store
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session, a_user, verified_factor

ADA = Peer(address="203.0.113.7", user_agent="Mozilla/5.0")


def reported(kind: ActivityType, user_id: str, factor_id: str | None = None) -> Activity:
    return event(kind, user_id, NOW, ADA, factor_id=factor_id)


async def listed(store: Store, user_id: str) -> list[tuple[str, str | None]]:
    page = await store.list_activity(user_id, limit=100)
    return [(item.type, item.factor_id) for item in page.items]


async def test_a_confirmed_factor_is_recorded_with_its_id_and_a_refused_one_is_not(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    assert await store.add_session(session)
    factor = a_factor(user)
    assert await store.add_factor(factor, 5, SINCE, stepped_up=False) == "added"
    enrolled = reported("mfa_enrolled", user.id, factor.id)
    # A step that is not above the factor's last (0) is refused, and reports nothing.
    assert not await store.confirm_factor(user.id, factor.id, 0, NOW, SINCE, session.id, enrolled)
    assert await listed(store, user.id) == []
    assert await store.confirm_factor(user.id, factor.id, 100, NOW, SINCE, session.id, enrolled)
    assert await listed(store, user.id) == [("mfa_enrolled", factor.id)]


async def test_a_spent_totp_step_is_recorded_once_and_a_replayed_one_not_at_all(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    factor = await verified_factor(store, user, "none", step=100)
    assert not await store.use_totp_step(
        factor.id, 100, NOW, reported("mfa_verified", user.id, factor.id)
    )
    assert await listed(store, user.id) == []
    assert await store.use_totp_step(
        factor.id, 101, NOW, reported("mfa_verified", user.id, factor.id)
    )
    assert await listed(store, user.id) == [("mfa_verified", factor.id)]


async def test_recovery_codes_record_their_use_and_replacement_only_when_they_happen(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    # Without a second factor no set is stored, and nothing is recorded.
    assert not await store.replace_recovery_codes(
        user.id, ["z"], NOW, reported("recovery_codes_regenerated", user.id)
    )
    await verified_factor(store, user, "none")
    assert await store.replace_recovery_codes(
        user.id, ["a", "b"], NOW, reported("recovery_codes_regenerated", user.id)
    )
    assert not await store.use_recovery_code(
        user.id, ("x",), reported("recovery_code_used", user.id)
    )
    assert await store.use_recovery_code(user.id, ("a",), reported("recovery_code_used", user.id))
    assert await listed(store, user.id) == [
        ("recovery_code_used", None),
        ("recovery_codes_regenerated", None),
    ]


async def test_a_removed_factor_is_recorded_and_another_users_factor_records_nothing(
    store: Store,
) -> None:
    ada, eve = a_user(), a_user()
    await store.add_user(ada)
    await store.add_user(eve)
    factor = await verified_factor(store, ada, "none")
    assert not await store.delete_factor(
        eve.id, factor.id, reported("mfa_factor_removed", eve.id, factor.id)
    )
    assert await listed(store, eve.id) == []
    assert await store.delete_factor(
        ada.id, factor.id, reported("mfa_factor_removed", ada.id, factor.id)
    )
    assert await listed(store, ada.id) == [("mfa_factor_removed", factor.id)]
