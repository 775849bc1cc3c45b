"""The domain's exceptions; `authapi.web.problems` maps each one to an RFC 9457 problem."""

from __future__ import annotations

from collections.abc import Mapping


class ConfigError(Exception):
    """Refuse to start: one sentence naming the variable at fault."""


class AuthError(Exception):
    """Base of every error a client can cause; `status` is the HTTP status it maps to."""

    status = 400
    title = "Bad Request"
    detail = "The request is invalid."
    # The problem's `type` URI; None is RFC 9457's default, `about:blank`.
    problem_type: str | None = None

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail

    @property
    def headers(self) -> Mapping[str, str]:
        return {}

    @property
    def members(self) -> dict[str, object]:
        """Return extension members of the problem body, beside type, title, status, detail."""
        return {}


class InvalidInput(AuthError):
    """Reject a field that breaks a rule; the detail names the field and the rule, not the value."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class WrongPassword(AuthError):
    """Refuse a request whose caller re-entered a password that is not the account's."""

    status = 403
    title = "Forbidden"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: is not the account's password")
        self.field = field


class EmailTaken(AuthError):
    """Refuse a registration for an email that already has an account."""

    status = 409
    title = "Conflict"
    detail = "An account with this email already exists."


class Unauthenticated(AuthError):
    """Refuse a request that carries no usable credentials."""

    status = 401
    title = "Unauthorized"
    detail = "Authentication is required."
    # RFC 6750 §3: error="invalid_token" only when a token was presented and refused.
    token_presented = False

    @property
    def headers(self) -> Mapping[str, str]:
        return self.headers_for(self.token_presented)

    @staticmethod
    def headers_for(token_presented: bool) -> dict[str, str]:
        """Return the Bearer challenge for a refused request."""
        challenge = 'Bearer realm="auth-api"'
        if token_presented:
            challenge += ', error="invalid_token"'
        return {"WWW-Authenticate": challenge}


class InvalidCredentials(Unauthenticated):
    """Refuse a login without saying which part was wrong."""

    detail = "The email or password is incorrect."


class InvalidToken(Unauthenticated):
    """Refuse a token; `reason` is a category for logs, never shown to the client."""

    detail = "The token is invalid, expired or revoked."
    token_presented = True

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class TooManyTasks(AuthError):
    """Refuse a task past MAX_TASKS_PER_USER; the user's tasks stay as they were."""

    status = 409
    title = "Conflict"

    def __init__(self, max_tasks: int) -> None:
        super().__init__(f"A user may keep at most {max_tasks} tasks; delete some first.")


# Problem types of this API: tag URIs (RFC 4151), which name a kind of problem and are
# never fetched, as RFC 9457 §3.1.1 allows.
PROBLEM_TYPE_BASE = "tag:auth-api,2026:problems/"


class StorageFull(AuthError):
    """Refuse a new user or task past the memory store's ceiling; nothing stored is lost."""

    status = 507
    title = "Insufficient Storage"
    problem_type = PROBLEM_TYPE_BASE + "storage-full"

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"The service holds as many {kind} as it can; none was added. Deleting some makes room."
        )
        self.kind = kind


class NotFound(AuthError):
    """Answer a resource that does not exist, or that the caller may not see."""

    status = 404
    title = "Not Found"
    detail = "The resource does not exist."


class RetryLater(AuthError):
    """An error the client can outwait; `Retry-After` says how long, in seconds."""

    retry_after_seconds = 1

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class StoreUnavailable(RetryLater):
    """Answer 503 while the database cannot be reached; the client should retry."""

    status = 503
    title = "Service Unavailable"
    detail = "The service's storage is unavailable; retry shortly."
    retry_after_seconds = 5


class TooManyRequests(RetryLater):
    """Refuse an attempt over a rate limit; `Retry-After` says when to try again."""

    status = 429
    title = "Too Many Requests"
    detail = "Too many attempts; retry later."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, retry_after_seconds)


class PayloadTooLarge(AuthError):
    """Refuse a body over MAX_BODY_BYTES."""

    status = 413
    title = "Content Too Large"
    detail = "The request body is too large."


class Overloaded(RetryLater):
    """Shed a login that cannot start hashing in time, instead of letting the client time out."""

    status = 503
    title = "Service Unavailable"
    detail = "The service is busy; retry shortly."

    def __init__(self, retry_after_seconds: int = 1) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, retry_after_seconds)


class RequestTimeout(AuthError):
    """Refuse a request whose body did not arrive within REQUEST_READ_TIMEOUT_SECONDS."""

    status = 408
    title = "Request Timeout"
    detail = "The request body did not arrive in time."

    @property
    def headers(self) -> Mapping[str, str]:
        # The rest of the body may still arrive: the connection cannot carry another request.
        return {"Connection": "close"}


class MissingSessionCookie(Unauthenticated):
    """Refuse a browser-session request that carries no session cookie."""

    detail = "The session cookie is missing; log in again."


class RepeatedCookie(AuthError):
    """Refuse a request that sends one cookie name twice: which one is the session's is unknown.

    A page on a sibling subdomain can plant a cookie of the same name (a `__Secure-` prefix
    does not stop it), so that one request carries two. The answer clears the browser's
    cookies: `clear` holds the headers that do it (a Set-Cookie per cookie, so a mapping that
    may hold one name twice), which only the HTTP layer knows how to spell.
    """

    def __init__(self, name: str, clear: Mapping[str, str]) -> None:
        super().__init__(
            f"Cookie: {name} is sent more than once, so which one is the session's is "
            "unknown; it is cleared, log in again."
        )
        self.name = name
        self._clear = clear

    @property
    def headers(self) -> Mapping[str, str]:
        return self._clear


class CsrfRefused(AuthError):
    """Refuse a browser-session request without its session's CSRF token."""

    status = 403
    title = "Forbidden"
    detail = "X-CSRF-Token: is missing or is not this session's token."


class OriginRefused(AuthError):
    """Refuse a browser-session request sent from an origin the API does not serve."""

    status = 403
    title = "Forbidden"
    detail = "Origin: is neither this API's own origin nor one of CORS_ORIGINS."


class InvalidClient(AuthError):
    """Refuse a resource server whose HTTP Basic credentials are missing or wrong."""

    status = 401
    title = "Unauthorized"
    detail = "Client authentication failed."

    @property
    def headers(self) -> Mapping[str, str]:
        return {"WWW-Authenticate": BASIC_CHALLENGE}


# RFC 7617: the realm, and the charset the credentials are decoded with.
BASIC_CHALLENGE = 'Basic realm="auth-api", charset="UTF-8"'


class MfaRequired(AuthError):
    """Answer a right password of a user with a second factor: the login goes on at verify.

    It carries the RFC 6749 `error` code too, so that OAuth-minded clients understand it.
    """

    status = 403
    title = "Forbidden"
    problem_type = PROBLEM_TYPE_BASE + "mfa-required"
    detail = "A second factor is required: send a code with the mfa_token to /mfa/verify."

    def __init__(self, mfa_token: str, expires_in: int, methods: tuple[str, ...]) -> None:
        super().__init__()
        self._members: dict[str, object] = {
            "error": "mfa_required",
            "mfa_token": mfa_token,
            "methods": list(methods),
            "expires_in": expires_in,
        }

    @property
    def members(self) -> dict[str, object]:
        return dict(self._members)


class InvalidCode(AuthError):
    """Refuse a wrong second-factor code, or an mfa_token that is unknown, spent or dead.

    A 403, not a 401: on the bearer operations a 401 would tell the client its access
    token is bad, and a client that drops it then would log its user out over a typo.
    """

    status = 403
    title = "Forbidden"
    problem_type = PROBLEM_TYPE_BASE + "mfa-invalid"
    detail = "The code is wrong, or the mfa_token is invalid, expired or used up."


class CodeAlreadyUsed(InvalidCode):
    """Refuse a TOTP code whose time step was already used: RFC 6238 §5.2 forbids a reuse."""

    problem_type = PROBLEM_TYPE_BASE + "mfa-code-used"
    detail = "code: this code was already used; wait for the next code."


class StepUpRequired(Unauthenticated):
    """Refuse an operation that needs a recent second factor (RFC 9470)."""

    problem_type = PROBLEM_TYPE_BASE + "step-up-required"

    def __init__(self, missing: str, max_age: int) -> None:
        super().__init__(missing)
        self.max_age = max_age

    @property
    def headers(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": 'Bearer error="insufficient_user_authentication", '
            f'acr_values="aal2", max_age={self.max_age}'
        }


class TooManyFactors(AuthError):
    """Refuse a factor past the per-user maximum."""

    status = 409
    title = "Conflict"

    def __init__(self, max_factors: int) -> None:
        super().__init__(f"A user may have at most {max_factors} TOTP factors; remove one first.")


class PasskeyRefused(Unauthenticated):
    """Refuse a passkey login without saying which check failed (logs say it)."""

    problem_type = PROBLEM_TYPE_BASE + "passkey-refused"
    detail = "The passkey was not accepted; ask for new options and try again."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class TooManyPasskeys(AuthError):
    """Refuse a passkey past the per-user cap; the user's passkeys stay as they were."""

    status = 409
    title = "Conflict"
    problem_type = PROBLEM_TYPE_BASE + "too-many-passkeys"

    def __init__(self, max_passkeys: int) -> None:
        super().__init__(f"A user may keep at most {max_passkeys} passkeys; remove one first.")


class PasskeyTaken(AuthError):
    """Refuse a credential id that is registered already (to this user or another)."""

    status = 409
    title = "Conflict"
    problem_type = PROBLEM_TYPE_BASE + "passkey-registered"
    detail = "credential: this passkey is registered already."


class LastPasskey(AuthError):
    """Refuse to remove the only way into an account that has no password."""

    status = 409
    title = "Conflict"
    problem_type = PROBLEM_TYPE_BASE + "last-passkey"
    detail = "The last passkey of an account without a password cannot be removed."
