"""Every error is problem+json; every response carries the security headers."""

from __future__ import annotations

import pytest

from tests.api_moves import Api
from tests.backends import decided_before_the_store


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


@decided_before_the_store
def test_unknown_path_is_a_404_problem(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/nothing-here"), 404)


@decided_before_the_store
def test_unknown_method_is_a_405_problem(api: Api) -> None:
    assert_problem(api.client.delete("/api/v1/auth/login"), 405)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/tasks", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/tasks", "GET, HEAD, POST"),
        (
            "OPTIONS",
            "/api/v1/tasks/7d9f3c2e-0000-4000-8000-000000000000",
            "DELETE, GET, HEAD, PATCH, PUT",
        ),
        ("POST", "/api/v1/auth/sessions", "GET, HEAD"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("PUT", "/health", "GET, HEAD"),
    ],
)
@decided_before_the_store
def test_a_405_allows_every_method_the_resource_supports(
    api: Api, method: str, path: str, allow: str
) -> None:
    # RFC 9110 §15.5.6: every method of the resource, not only those of one route.
    response = api.client.request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allow


@decided_before_the_store
def test_non_json_body_is_a_415_problem(api: Api) -> None:
    response = api.client.post(
        "/api/v1/auth/login", content=b"email=a", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\xfd", "UTF-8"),
        (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
        (b"[]", "type object"),
        (b"null", "type object"),
    ],
)
@decided_before_the_store
def test_malformed_body_is_a_400_problem(api: Api, content: bytes, detail: str) -> None:
    response = api.client.post(
        "/api/v1/auth/login", content=content, headers={"Content-Type": "application/json"}
    )
    assert detail in str(assert_problem(response, 400)["detail"])


@decided_before_the_store
def test_missing_body_is_a_400_problem(api: Api) -> None:
    response = api.client.post(
        "/api/v1/auth/register", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


@decided_before_the_store
def test_unknown_query_parameter_is_refused(api: Api) -> None:
    assert_problem(api.client.get("/health?debug=1"), 400)


@pytest.mark.parametrize("path", ["/health", "/api/v1/protected/profile", "/nothing"])
@decided_before_the_store
def test_every_response_carries_the_security_headers(api: Api, path: str) -> None:
    headers = api.client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src" in headers["content-security-policy"]


@decided_before_the_store
def test_api_responses_are_never_cached(api: Api) -> None:
    assert api.client.get("/api/v1/protected/profile").headers["cache-control"] == "no-store"


@decided_before_the_store
def test_request_id_is_generated_and_echoed(api: Api) -> None:
    generated = api.client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    echoed = api.client.get("/health", headers={"X-Request-ID": "req-123"}).headers
    assert echoed["x-request-id"] == "req-123"


@decided_before_the_store
def test_unsafe_request_id_is_replaced(api: Api) -> None:
    response = api.client.get("/health", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert "<" not in response.headers["x-request-id"]


def test_health_is_ok_without_auth(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok"}


def test_readiness_is_ok_while_the_store_answers(api: Api) -> None:
    response = api.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["store"] == "ok"


@decided_before_the_store
def test_spec_and_swagger_ui_are_served(api: Api) -> None:
    spec = api.client.get("/openapi.json")
    assert spec.status_code == 200
    assert "bearerAuth" in spec.json()["components"]["securitySchemes"]
    docs = api.client.get("/docs/")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
