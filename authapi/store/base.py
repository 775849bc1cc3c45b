"""The storage interface: what the use cases need from a backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from authapi.records import (
    Activity,
    ActivityPage,
    ActivityType,
    Assurance,
    ChallengePurpose,
    FactorOutcome,
    Hits,
    MfaChallenge,
    Passkey,
    PasskeyOutcome,
    PasswordOutcome,
    Session,
    Task,
    TaskPage,
    TotpFactor,
    User,
    WebauthnChallenge,
)

# A known login address unseen for this long is forgotten by the purge.
KNOWN_ADDRESS_RETENTION_SECONDS = 90 * 86400
# A TOTP factor not confirmed within this long has expired, and the purge deletes it.
PENDING_FACTOR_SECONDS = 600


@dataclass(frozen=True)
class ActivityBounds:
    """How much of each user's activity a store keeps (ACTIVITY_RETENTION_DAYS and
    MAX_ACTIVITY_EVENTS_PER_USER): a write beyond `max_per_user` drops the user's oldest in
    the same step, and the purge deletes what is older than `retention_seconds`."""

    max_per_user: int = 1000
    retention_seconds: int = 90 * 86400


# What a store keeps when it is told nothing: the settings' defaults.
DEFAULT_ACTIVITY_BOUNDS = ActivityBounds()


class UserStore(Protocol):
    """Accounts: each method atomic on its own.

    Credential versions: every method that bumps a user's version revokes, in the same
    atomic step, each of the user's sessions that it does not carry over to the new version,
    and `add_session` refuses a session whose version is no longer the user's. So a session
    that is not revoked always has its user's current version.
    """

    async def add_user(self, user: User) -> None:
        """Add an account, or raise `EmailTaken` if the email already has one."""

    async def get_user(self, user_id: str) -> User | None:
        """Return the account with this id, if any."""

    async def get_user_by_email(self, email: str) -> User | None:
        """Return the account with this normalized email, if any."""

    async def set_password_hash(
        self, user_id: str, expected_hash: str, new_hash: str, activity: Activity | None = None
    ) -> bool:
        """Swap a user's password hash if it is still `expected_hash`; tell whether it was.

        `activity` is recorded in the same atomic step, and only if the hash was swapped.
        """

    async def replace_password(
        self,
        user_id: str,
        password_hash: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> tuple[PasswordOutcome, int]:
        """Set a new password hash and bump the credential version, with `revoke_user_sessions`.

        `keep` is the caller's session. The change is refused, changing nothing, and the
        reason returned, in this order, whichever hold: "session-ended" if `keep` is given and
        is not a live session of the user's at `now` (revoked or expired), and "step-up" if,
        not `stepped_up`, the user has a second factor (a verified TOTP factor or a passkey).
        Otherwise it is one atomic step with those checks, which forgets the known addresses
        as `revoke_user_sessions` does and records `activity` (its count: the sessions
        revoked) if the user exists; it returns "changed" and how many sessions were revoked.
        """


class SessionStore(Protocol):
    """Logins and their refresh chains: each method atomic on its own.

    Credential versions: every method that bumps a user's version revokes, in the same
    atomic step, each of the user's sessions that it does not carry over to the new version,
    and `add_session` refuses a session whose version is no longer the user's. So a session
    that is not revoked always has its user's current version.
    """

    async def add_session(
        self, session: Session, max_sessions: int | None = None, activity: Activity | None = None
    ) -> bool:
        """Record a session if its user's credential version is still the session's.

        Then revoke the user's oldest live sessions beyond `max_sessions`, never the new one,
        and record `activity`, all in one atomic step. Return False, storing nothing, when
        the version has moved on (or the user is gone).
        """

    async def get_session(self, session_id: str) -> Session | None:
        """Return a session by id, revoked or not."""

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        """Return a session by id, revoked or not, with its account: one lookup, not two."""

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        """Swap the session's refresh hash if it is still `expected_hash` and the session live."""

    async def revoke_session(
        self, session_id: str, now: int, activity: Activity | None = None
    ) -> None:
        """Revoke a session; revoking twice keeps the first time.

        `activity` is recorded in the same atomic step, and only if this call revoked it.
        """

    async def reassure_session(
        self, session_id: str, assurance: Assurance, now: int, new_refresh_hash: str | None
    ) -> bool:
        """Set a live session's assurance, and rotate its refresh hash if one is given.

        The rotation is the one `rotate_refresh` makes, whatever the current hash is.
        Return False, changing nothing, if the session is not live.
        """

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        """Return the user's live sessions, newest first."""

    async def revoke_user_sessions(
        self,
        user_id: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        """Bump the user's credential version and revoke every session but `keep`.

        `keep`, if it is the user's and not revoked, moves to the new version and lives on.
        In the same atomic step, forget every address the user is known from but
        `keep_address` (a hashed key, as `remember_address` takes), and record `activity`
        (its count: the sessions revoked) if the user exists. Return how many sessions
        were revoked.
        """

    async def count_live_sessions(self, now: int) -> int:
        """Count the sessions of every user that are neither expired nor revoked."""


class CounterStore(Protocol):
    """What the throttle counts and remembers: fixed-window counters and known addresses."""

    async def hit(self, key: str, window_seconds: int, now: int, by: int = 1) -> Hits:
        """Count `by` events (one, or none) under `key` in its current fixed window, atomically.

        `by=0` reads the count in the very statement, and at the very cost, that adds one.
        """

    async def unhit(self, key: str, hits: Hits) -> None:
        """Take back one event that `hit` counted as `hits`, atomically.

        Only from the window that counted it (the one ending at `hits.resets_at`), never
        below zero: a newer window, or a count that another request took back, is left alone.
        """

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        """Return the count under `key` in its current window without adding to it."""

    async def remember_address(self, user_id: str, address_key: str, now: int) -> None:
        """Record a login of the user from this hashed address, or move its `last_seen` on."""

    async def is_known_address(self, user_id: str, address_key: str) -> bool:
        """Tell whether the user has logged in from this hashed address before."""


class TaskStore(Protocol):
    """Each user's tasks."""

    async def add_task(self, task: Task, max_tasks: int | None = None) -> bool:
        """Record a new task, unless its user already has `max_tasks`; tell whether it was."""

    async def get_task(self, user_id: str, task_id: str) -> Task | None:
        """Return the task if it exists and belongs to `user_id`."""

    async def list_tasks(
        self,
        user_id: str,
        *,
        limit: int,
        completed: bool | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> TaskPage:
        """Return up to `limit` of the user's tasks, newest first, older than `before`."""

    async def update_task(self, task: Task) -> bool:
        """Replace a task of its owner; False if it no longer exists."""

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        """Delete a task of `user_id`; False if there was none."""


class MfaStore(Protocol):
    """Second factors, recovery codes and login challenges: each method atomic on its own.

    `pending_since`: a pending factor created at or before it has expired, counts for
    nothing and cannot be confirmed.
    """

    async def add_factor(
        self, factor: TotpFactor, max_factors: int, pending_since: int, *, stepped_up: bool
    ) -> FactorOutcome:
        """Record a pending factor, and return "added"; or refuse it and say why, changing nothing.

        The reasons, in this order, whichever hold: "step-up" if, not `stepped_up`, the user
        has a second factor (a verified TOTP factor or a passkey), and "cap" if she has
        `max_factors` live ones already. One atomic step with every check.
        """

    async def get_factor(self, user_id: str, factor_id: str) -> TotpFactor | None:
        """Return a factor of `user_id`, pending or verified."""

    async def verified_factors(self, user_id: str) -> list[TotpFactor]:
        """Return the user's verified factors, oldest first."""

    async def confirm_factor(
        self,
        user_id: str,
        factor_id: str,
        step: int,
        now: int,
        pending_since: int,
        keep_session: str,
        activity: Activity | None = None,
    ) -> bool:
        """Verify a live pending factor with the code of `step`, and end the other sessions.

        One atomic step: the factor becomes verified with `step` as its last used step,
        the user's credential version moves on, every session but `keep_session` is
        revoked (`keep_session` carries over), and `activity` is recorded. False, changing
        nothing, otherwise.
        """

    async def use_totp_step(
        self, factor_id: str, step: int, now: int, activity: Activity | None = None
    ) -> bool:
        """Compare-and-set: record `step` as used if it is above the verified factor's last.

        `activity` is recorded in the same atomic step, and only if the step was recorded.
        """

    async def delete_factor(
        self, user_id: str, factor_id: str, activity: Activity | None = None
    ) -> bool:
        """Delete a factor of `user_id`; tell whether there was one.

        In the same atomic step, when she has no second factor left (no verified factor and
        no passkey): delete her recovery codes, and lower every session of hers to aal1
        with amr pwd. `activity` is recorded in that step too, and only if a factor was
        deleted.
        """

    async def add_recovery_codes_if_none(self, user_id: str, hashes: list[str], now: int) -> bool:
        """Store a set of recovery-code hashes while the user has a verified factor and no codes.

        Tell whether it did. One atomic step: of parallel calls, one stores its set.
        """

    async def replace_recovery_codes(
        self, user_id: str, hashes: list[str], now: int, activity: Activity | None = None
    ) -> bool:
        """Replace the user's codes with this set while she has a second factor; tell if it did.

        A second factor is a verified factor or a passkey: the codes back up either. One
        atomic step with the removals, which delete the codes with the last second factor:
        `activity` is recorded in it, and only if the set was stored.
        """

    async def has_recovery_codes(self, user_id: str) -> bool:
        """Tell whether the user holds at least one unused recovery code."""

    async def use_recovery_code(
        self, user_id: str, hashes: tuple[str, ...], activity: Activity | None = None
    ) -> bool:
        """Delete one of the user's codes stored under any of `hashes`; tell whether one was.

        `activity` is recorded in the same atomic step, and only if a code was deleted.
        """

    async def add_challenge(self, challenge: MfaChallenge) -> None:
        """Record a login challenge."""

    async def get_challenge(self, token_hash: str) -> MfaChallenge | None:
        """Return a challenge by its token hash, expired or not."""

    async def count_challenge_attempt(
        self, token_hash: str, max_attempts: int, now: int
    ) -> MfaChallenge | None:
        """Count one code tried with a live challenge below `max_attempts`; None otherwise."""

    async def spend_challenge(self, token_hash: str) -> bool:
        """Delete a challenge; tell whether this call did (exactly one caller wins)."""


class PasskeyStore(Protocol):
    """Passkeys, each user's WebAuthn user handle, and WebAuthn challenges: each method atomic.

    A credential id is unique across all users. A user's second factors are her verified
    TOTP factors and her passkeys: when the last of them goes, her recovery codes go and her
    sessions drop to aal1.
    """

    async def user_handle(self, user_id: str, candidate: str) -> str:
        """Return the user's WebAuthn user handle, keeping `candidate` as it if she has none."""

    async def passkeys_of(self, user_id: str) -> list[Passkey]:
        """Return the user's passkeys, oldest first."""

    async def find_passkey(self, credential_id: str) -> tuple[Passkey, str] | None:
        """Return the passkey with this credential id and its owner's user handle, if any."""

    async def add_passkey(
        self,
        passkey: Passkey,
        max_passkeys: int,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> PasskeyOutcome:
        """Record a passkey, and return "added"; or refuse it and say why, changing nothing.

        The reasons, in this order, whichever hold: "taken" if its credential id is
        registered (to anyone), "cap" if its user has `max_passkeys` already, and "step-up"
        if, not `stepped_up`, she has a second factor (a verified TOTP factor or a passkey).
        One atomic step with every check. `activity` is recorded in the same step, and only
        if the passkey was added.
        """

    async def use_passkey(
        self,
        passkey_id: str,
        expected_count: int,
        sign_count: int,
        backed_up: bool,
        now: int,
        activity: Activity | None = None,
    ) -> bool:
        """Compare-and-set: move the counter on if it is still `expected_count`.

        Also records `backed_up` and `now` as its last use, and `activity`, in that step.
        """

    async def rename_passkey(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        """Rename a passkey of `user_id`; None if she has no such passkey."""

    async def delete_passkey(
        self, user_id: str, passkey_id: str, activity: Activity | None = None
    ) -> bool:
        """Delete a passkey of `user_id`; tell whether there was one.

        Raise `LastPasskey`, deleting nothing, for the user's last passkey when she has no
        password. In the same atomic step, when she has no second factor left, delete her
        recovery codes and lower every session of hers to aal1 with amr pwd; `activity` is
        recorded in that step too.
        """

    async def add_webauthn_challenge(self, challenge: WebauthnChallenge) -> None:
        """Record a challenge handed out with WebAuthn options."""

    async def take_webauthn_challenge(
        self,
        challenge_id: str,
        purpose: ChallengePurpose,
        now: int,
        user_id: str | None = None,
        mfa_token_hash: str | None = None,
    ) -> WebauthnChallenge | None:
        """Delete and return a live challenge of `purpose` bound to exactly these; else None.

        Of two callers with one challenge, exactly one gets it.
        """


class ActivityStore(Protocol):
    """Each user's account activity, within the store's `ActivityBounds`.

    The store operations that make a change (a login, a password change, a revocation)
    take the event that reports it and record it in the same atomic step; this protocol
    records the events that report no change of the store's (a failed login), and reads.
    """

    async def record_activity(self, activity: Activity) -> None:
        """Record an event, atomically: one with the `merge_key` of a stored event of the
        same user adds one to that event's count instead. Drop the user's oldest events
        beyond the bound in the same step."""

    async def list_activity(
        self,
        user_id: str,
        *,
        limit: int,
        type: ActivityType | None = None,
        after: str | None = None,
    ) -> ActivityPage:
        """Return up to `limit` of the user's events, newest first, of `type` if given.

        `after` is the id of an event of this user's: the page starts just past it. An id
        that names no event of this user's gives an empty page.
        """


class Store(
    UserStore,
    SessionStore,
    CounterStore,
    TaskStore,
    ActivityStore,
    MfaStore,
    PasskeyStore,
    Protocol,
):
    """A whole backend: every aggregate, plus its lifecycle and the purge of ended records."""

    async def purge(self, now: int, batch: int) -> int:
        """Delete up to `batch` ended records of each kind; return how many went in all.

        Ended: expired or revoked sessions, counters whose window is over, known addresses
        unseen for KNOWN_ADDRESS_RETENTION_SECONDS, activity older than the store's
        `ActivityBounds.retention_seconds`, pending factors older than
        PENDING_FACTOR_SECONDS, expired login challenges and expired WebAuthn challenges.
        """

    async def open(self) -> None:
        """Connect, and bring a fresh database to the current schema."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` if the store cannot answer right now."""

    async def close(self) -> None:
        """Release connections and files."""
