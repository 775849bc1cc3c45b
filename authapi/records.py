"""The domain's records: accounts, sessions, tasks, activity, what a store counts, and who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args


def is_storable(text: str) -> bool:
    """Tell whether every backend can hold this text: PostgreSQL refuses NUL characters."""
    return "\x00" not in text


@dataclass(frozen=True, slots=True)
class User:
    """An account; `email` is in normalized form."""

    id: str
    email: str
    password_hash: str
    created_at: datetime
    # Bumped by every password change and logout-all; sessions carry the one they began under.
    credential_version: int = 0


# NIST SP 800-63B assurance levels: a password alone, or a password and a second factor.
Acr = Literal["aal1", "aal2"]
# RFC 8176 method references; `rcode` (a recovery code) is this service's own value.
PASSWORD_ONLY: tuple[str, ...] = ("pwd",)
WITH_TOTP: tuple[str, ...] = ("pwd", "otp", "mfa")
WITH_RECOVERY_CODE: tuple[str, ...] = ("pwd", "rcode", "mfa")
# A passkey login: proof of possession of a key whose storage is unspecified (`pop`), and the
# authenticator's user verification as the second factor (`mfa`). After a password, `pwd` too.
WITH_PASSKEY: tuple[str, ...] = ("pop", "mfa")
WITH_PASSWORD_AND_PASSKEY: tuple[str, ...] = ("pwd", "pop", "mfa")


@dataclass(frozen=True, slots=True)
class Assurance:
    """How a session's user last proved who they are: `acr`, `amr`, and when (`auth_time`)."""

    acr: Acr
    amr: tuple[str, ...]
    auth_time: int


def password_only(now: int) -> Assurance:
    """Return the assurance of a password checked at `now`."""
    return Assurance("aal1", PASSWORD_ONLY, now)


# How a session's refresh token travels: in a JSON body (`api`) or in an HttpOnly cookie
# guarded by a CSRF token (`browser`). A session keeps the kind it was born with.
SessionKind = Literal["api", "browser"]


@dataclass(frozen=True, slots=True)
class Session:
    """One login: it lives until `expires_at` (epoch seconds) unless revoked earlier."""

    id: str
    user_id: str
    created_at: int
    expires_at: int
    refresh_hash: str
    previous_refresh_hash: str | None = None
    rotated_at: int | None = None
    revoked_at: int | None = None
    user_agent: str | None = None
    client_ip: str | None = None
    credential_version: int = 0
    kind: SessionKind = "api"
    # The assurance its tokens carry: set at login, raised only by a reauthentication,
    # copied (never raised) by a refresh, and lowered when the user's last factor goes.
    acr: Acr = "aal1"
    amr: tuple[str, ...] = PASSWORD_ONLY
    auth_time: int = 0

    @property
    def assurance(self) -> Assurance:
        """Return the assurance that this session's tokens carry."""
        return Assurance(self.acr, self.amr, self.auth_time or self.created_at)

    def is_live(self, now: int) -> bool:
        """Tell whether tokens of this session may still be accepted."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class Task:
    """A to-do item that belongs to exactly one user."""

    id: str
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a user's tasks, newest first; `more` tells whether another page follows."""

    items: list[Task]
    more: bool


# What can happen to an account that its owner reads in the activity log: a closed list,
# the same as the spec's `ActivityType`.
ActivityType = Literal[
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "password_changed",
    "password_rehashed",
    "session_revoked",
    "logout_all",
    "refresh_replayed",
    "refresh_reuse_detected",
    "token_revoked",
    "mfa_enrolled",
    "mfa_factor_removed",
    "recovery_codes_regenerated",
    "mfa_verified",
    "recovery_code_used",
    "mfa_failed",
    "mfa_locked",
    "mfa_code_reused",
    "passkey_registered",
    "passkey_removed",
    "passkey_login",
    "passkey_failed",
    "passkey_clone_suspected",
]
ACTIVITY_TYPES: tuple[ActivityType, ...] = get_args(ActivityType)


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing that happened to an account, as its owner may read it.

    Every field is one a user may see about her own account: no secret, token, code or
    password has a place here. `reason` is a code from a closed list; `count` is how many
    attempts a merged event stands for, or how many sessions a credential change ended;
    `factor_id` names the second factor an event concerns (its id, never its secret).
    """

    id: str
    user_id: str
    type: ActivityType
    occurred_at: int
    ip: str | None = None
    user_agent: str | None = None
    session_id: str | None = None
    reason: str | None = None
    count: int = 1
    # Events with the same key (per user) are one event whose count grows; never shown.
    merge_key: str | None = None
    factor_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of a user's activity, newest first; `more` tells whether another page follows."""

    items: list[Activity]
    more: bool


@dataclass(frozen=True, slots=True)
class Hits:
    """Events counted in a fixed window that ends at `resets_at` (epoch seconds)."""

    count: int
    resets_at: int


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is at the other end of a request, as far as the domain may tell.

    Not a resource server's client: any caller, by the address the edge decided and the
    user agent it sent. A session records the peer it began with.
    """

    address: str | None = None
    user_agent: str | None = None


NO_PEER = Peer()


@dataclass(frozen=True, slots=True)
class TotpFactor:
    """A TOTP second factor: pending until its first code confirms it.

    `secret` is sealed (authapi/secret_box.py); `last_used_step` is the time step of the
    last code accepted, and no code of that step or an earlier one is accepted again.
    """

    id: str
    user_id: str
    secret: str
    created_at: int
    confirmed_at: int | None = None
    last_used_step: int = 0
    last_used_at: int | None = None

    @property
    def is_verified(self) -> bool:
        """Tell whether a code has confirmed this factor."""
        return self.confirmed_at is not None


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """The second step of a login: who, from which flow, and how many codes it has tried.

    Stored under the SHA-256 of its mfa_token, never the token itself.
    """

    token_hash: str
    user_id: str
    kind: SessionKind
    credential_version: int
    expires_at: int
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Passkey:
    """A WebAuthn credential of a user's (a passkey): what verifies its assertions.

    `credential_id` and `public_key` (COSE) are in unpadded base64url; `sign_count` is the
    authenticator's counter as last accepted; `aaguid` names the authenticator's model, and
    is kept for the owner's sake only.
    """

    id: str
    user_id: str
    credential_id: str
    public_key: str
    sign_count: int
    aaguid: str
    backed_up: bool
    name: str
    created_at: int
    last_used_at: int | None = None


# What became of a pending TOTP factor a store was asked to add: added, or refused, checked in
# this order, because its user has a second factor and the caller is not stepped up (the spec:
# she "must step up first"), or because she keeps the cap.
FactorOutcome = Literal["added", "step-up", "cap"]


# What became of a passkey a store was asked to add: added, or refused, checked in this order,
# because its credential id is registered (to anyone), because its user keeps the cap, or
# because she has a second factor and the caller is not stepped up.
PasskeyOutcome = Literal["added", "taken", "cap", "step-up"]


# What became of a password change a store was asked to make: changed, or refused, checked in
# this order, because the caller's session is no longer live (revoked, by a logout or by a
# credential change of another session's, or expired), or because its user has a second
# factor and the caller is not stepped up.
PasswordOutcome = Literal["changed", "session-ended", "step-up"]


# What a WebAuthn challenge may be answered for: adding a passkey, a passwordless login,
# the second step of a password login, or raising a session by reauthentication.
ChallengePurpose = Literal["registration", "login", "mfa", "reauthenticate"]


@dataclass(frozen=True, slots=True)
class WebauthnChallenge:
    """A challenge handed out with WebAuthn options, answered once within its lifetime.

    `challenge` is 32 random bytes in unpadded base64url. A registration challenge and a
    reauthentication one are bound to their user, a second-factor one to its user and to
    the SHA-256 of its mfa_token; a login challenge to nobody (the credential says who).
    """

    id: str
    challenge: str
    purpose: ChallengePurpose
    expires_at: int
    user_id: str | None = None
    mfa_token_hash: str | None = None
