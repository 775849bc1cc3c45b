"""Load the API the way its users do: browse with a session, churn sessions, sign up.

Every simulated user comes from one address, so the server under test must run with
AUTH_RATE_LIMIT_PER_MINUTE=0, REGISTRATIONS_PER_ADDRESS_PER_DAY=0 and TASK_WRITES_PER_MINUTE=0
(a 429 counts as a failure here), and the latency limits
assume BCRYPT_ROUNDS=4. Each user spends only its own refresh tokens, one at a time, so
rotation's reuse detection never fires by accident.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

from locust import HttpUser, between, constant, events, task
from locust.clients import ResponseContextManager
from locust.env import Environment
from locust.runners import WorkerRunner

MAX_FAILURE_RATIO = 0.0
# p95 limits in ms. On two cores shared with Locust at BCRYPT_ROUNDS=4, the smoke's burst of
# 50 new users a second measured 60-190 ms overall, 600 ms at worst for the bcrypt paths and
# under 100 ms for the rest; the full profile stays under 50 ms. BCRYPT_ROUNDS=10 breaks them.
MAX_P95_MS = 500
MAX_P95_MS_BCRYPT = 1000
MAX_P95_MS_TOKEN = 250

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROFILE = "/api/v1/protected/profile"
HEALTH = "/health"
TASKS = "/api/v1/tasks"
TASK = "/api/v1/tasks/{task_id}"
TOKEN_FIELDS = ("access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in")
# Per-path limits; a "[variant]" suffix on a request name shares its path's limit.
P95_LIMITS_MS = {
    REGISTER: MAX_P95_MS_BCRYPT,
    LOGIN: MAX_P95_MS_BCRYPT,
    REFRESH: MAX_P95_MS_TOKEN,
    LOGOUT: MAX_P95_MS_TOKEN,
    PROFILE: MAX_P95_MS_TOKEN,
    TASKS: MAX_P95_MS_TOKEN,
    TASK: MAX_P95_MS_TOKEN,
}

logger = logging.getLogger(__name__)


def new_credentials() -> dict[str, str]:
    """Return an email and a password no other simulated user shares."""
    return {
        "email": f"load-{uuid.uuid4().hex}@example.com",
        "password": secrets.token_urlsafe(18),
    }


def expect_json(response: ResponseContextManager, status: int) -> dict[str, Any] | None:
    """Return the JSON object of an answer with `status`, or mark the request failed."""
    if response.status_code != status:
        response.failure(f"expected {status}, got {response.status_code}{_detail(response)}")
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        response.failure(f"the {status} answer is not a JSON object")
        return None
    return body


def read_tokens(response: ResponseContextManager) -> dict[str, Any] | None:
    """Return the token pair of a 200 answer, or mark the request failed."""
    body = expect_json(response, 200)
    if body is None:
        return None
    missing = [name for name in TOKEN_FIELDS if name not in body]
    if missing:
        response.failure(f"the token answer lacks {', '.join(missing)}")
        return None
    return body


def expect_refusal(response: ResponseContextManager, status: int, what: str) -> None:
    """Count an expected refusal as a success, and anything else as a failure."""
    if response.status_code == status:
        response.success()
    else:
        got = f"{response.status_code}{_detail(response)}"
        response.failure(f"{what} was not refused with {status}: got {got}")


class AuthUser(HttpUser):
    """Hold one account of its own; the personas below build on it."""

    abstract = True
    registered = False

    def on_start(self) -> None:
        """Give the user an account of its own."""
        self.credentials = new_credentials()
        self.registered = self.register(self.credentials)

    def register(self, credentials: dict[str, str]) -> bool:
        """Register an account and tell whether the API created that very one."""
        with self.client.post(
            REGISTER, json=credentials, name=REGISTER, catch_response=True
        ) as response:
            body = expect_json(response, 201)
            if body is not None and body.get("email") != credentials["email"]:
                response.failure("the registration answered another email")
                return False
            return body is not None

    def ensure_registered(self) -> bool:
        """Retry a failed registration, so that one failure does not repeat as 401s."""
        if not self.registered:
            self.registered = self.register(self.credentials)
        return self.registered

    def log_in(self) -> dict[str, Any] | None:
        """Start a session and return its token pair."""
        if not self.ensure_registered():
            return None
        with self.client.post(
            LOGIN, json=self.credentials, name=LOGIN, catch_response=True
        ) as response:
            return read_tokens(response)

    def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        """Spend a refresh token and return the new pair."""
        with self.client.post(
            REFRESH, json={"refresh_token": refresh_token}, name=REFRESH, catch_response=True
        ) as response:
            return read_tokens(response)


class BrowsingUser(AuthUser):
    """Log in once, then read the profile and work on tasks, refreshing the tokens now and then."""

    weight = 16
    wait_time = between(0.5, 2.0)
    refresh_token: str | None = None

    def on_start(self) -> None:
        """Register, log in once and send the bearer header from then on."""
        super().on_start()
        self.use(self.log_in())

    def use(self, tokens: dict[str, Any] | None) -> None:
        """Keep the newest pair and send its access token with every request."""
        self.client.headers.pop("Authorization", None)
        self.refresh_token = None
        if tokens is not None:
            self.refresh_token = tokens["refresh_token"]
            self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    @task(20)
    def read_profile(self) -> None:
        """Read the caller's own profile."""
        if self.refresh_token is None:
            self.use(self.log_in())
            return
        with self.client.get(PROFILE, name=PROFILE, catch_response=True) as response:
            body = expect_json(response, 200)
            if body is not None and body.get("email") != self.credentials["email"]:
                response.failure("the profile belongs to another account")

    @task(8)
    def work_on_a_task(self) -> None:
        """Create a task, list the newest, tick it off, read it back and delete it."""
        if self.refresh_token is None:
            self.use(self.log_in())
            return
        with self.client.post(
            TASKS, json={"title": "Load test"}, name=TASKS, catch_response=True
        ) as response:
            created = expect_json(response, 201)
        if created is None:
            return
        url = f"{TASKS}/{created['id']}"
        with self.client.get(
            TASKS, params={"limit": 5}, name=TASKS, catch_response=True
        ) as response:
            page = expect_json(response, 200)
            if page is not None and created["id"] not in [t["id"] for t in page["items"]]:
                response.failure("a new task is missing from the newest page")
        with self.client.patch(
            url, json={"completed": True}, name=TASK, catch_response=True
        ) as response:
            expect_json(response, 200)
        with self.client.get(url, name=TASK, catch_response=True) as response:
            task_body = expect_json(response, 200)
            if task_body is not None and task_body.get("completed") is not True:
                response.failure("the change did not stick")
        with self.client.delete(url, name=TASK, catch_response=True) as response:
            if response.status_code != 204:
                response.failure(f"expected 204, got {response.status_code}{_detail(response)}")

    @task(1)
    def refresh_tokens(self) -> None:
        """Rotate the session's tokens and switch to the new pair."""
        if self.refresh_token is None:
            self.use(self.log_in())
            return
        # After a failed refresh the next task logs in afresh instead of failing on.
        self.use(self.refresh(self.refresh_token))


class SessionChurningUser(AuthUser):
    """Run whole sessions: log in, refresh, log out, then check the session is over."""

    weight = 3
    wait_time = between(1.0, 3.0)

    @task
    def churn_session(self) -> None:
        """Log in, rotate once, log out with the new access token."""
        first = self.log_in()
        if first is None:
            return
        second = self.refresh(first["refresh_token"])
        if second is None:
            return
        with self.client.post(
            LOGOUT,
            headers={"Authorization": f"Bearer {second['access_token']}"},
            name=LOGOUT,
            catch_response=True,
        ) as response:
            if response.status_code != 204:
                response.failure(f"expected 204, got {response.status_code}{_detail(response)}")
                return
        with self.client.post(
            REFRESH,
            json={"refresh_token": second["refresh_token"]},
            name=f"{REFRESH} [after logout]",
            catch_response=True,
        ) as response:
            expect_refusal(response, 401, "the refresh token of a logged-out session")


class RegisteringUser(AuthUser):
    """Sign up new accounts, and now and then try an email that is already taken."""

    weight = 1
    wait_time = between(1.0, 3.0)

    @task(5)
    def register_new_account(self) -> None:
        """Register an account nobody has yet."""
        self.register(new_credentials())

    @task(1)
    def register_taken_email(self) -> None:
        """Register this user's own email again and expect a conflict."""
        if not self.ensure_registered():
            return
        with self.client.post(
            REGISTER, json=self.credentials, name=f"{REGISTER} [taken]", catch_response=True
        ) as response:
            expect_refusal(response, 409, "a taken email")


class HealthProbe(HttpUser):
    """Poll liveness once a second, as a load balancer would."""

    fixed_count = 1
    wait_time = constant(1)

    @task
    def check_health(self) -> None:
        """Ask whether the service is alive."""
        self.client.get(HEALTH, name=HEALTH)


@events.quitting.add_listener
def enforce_thresholds(environment: Environment, **_kwargs: Any) -> None:
    """Exit non-zero when the run broke the failure-ratio or a p95 latency limit."""
    if isinstance(environment.runner, WorkerRunner):
        return
    stats = environment.stats
    breaches = []
    if stats.total.num_requests == 0:
        breaches.append("no request was made")
    if environment.runner is not None and environment.runner.exceptions:
        breaches.append(f"{len(environment.runner.exceptions)} kinds of exception in tasks")
    if stats.total.fail_ratio > MAX_FAILURE_RATIO:
        breaches.append(
            f"failure ratio {stats.total.fail_ratio:.2%} is above {MAX_FAILURE_RATIO:.2%}"
        )
    p95 = stats.total.get_response_time_percentile(0.95)
    if p95 > MAX_P95_MS:
        breaches.append(f"p95 of all requests is {p95:.0f} ms, above {MAX_P95_MS} ms")
    for entry in stats.entries.values():
        limit = P95_LIMITS_MS.get(entry.name.split(" [")[0])
        p95 = entry.get_response_time_percentile(0.95)
        if limit is not None and entry.num_requests and p95 > limit:
            breaches.append(f"p95 of {entry.method} {entry.name} is {p95:.0f} ms, above {limit} ms")
    if breaches:
        for breach in breaches:
            logger.error("Load test failed: %s", breach)
        environment.process_exit_code = 1
    else:
        logger.info(
            "Load test passed: %d requests, failure ratio %.2f%%, p95 %.0f ms",
            stats.total.num_requests,
            stats.total.fail_ratio * 100,
            stats.total.get_response_time_percentile(0.95),
        )
        environment.process_exit_code = 0


def _detail(response: ResponseContextManager) -> str:
    # A problem's detail names the broken rule, never a secret, so it is safe to report.
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    return f" ({detail})" if detail else ""
