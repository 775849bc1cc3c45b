"""Steps about the service itself: health, the published contract and its documentation."""

from __future__ import annotations

from behave import then, when
from behave.runner import Context

from features.support.auth_api import api, problem

PUBLISHED_OPERATIONS = {
    "/api/v1/auth/register": "post",
    "/api/v1/auth/login": "post",
    "/api/v1/auth/refresh": "post",
    "/api/v1/auth/logout": "post",
    "/api/v1/protected/profile": "get",
    "/health": "get",
}


@when("the operator checks the service's health")
def the_operator_checks_the_services_health(context: Context) -> None:
    context.response = api(context).health()


@when("a developer fetches the API contract")
def a_developer_fetches_the_api_contract(context: Context) -> None:
    context.response = api(context).contract()


@when("a developer opens the API documentation")
def a_developer_opens_the_api_documentation(context: Context) -> None:
    context.response = api(context).docs()


@when("someone asks for a page the service does not have")
def someone_asks_for_a_page_the_service_does_not_have(context: Context) -> None:
    context.response = api(context).get("/no-such-page")


@then("the service reports that it is ok")
def the_service_reports_that_it_is_ok(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    assert context.response.json()["status"] == "ok", context.response.text


@then("the contract describes every capability of the auth API")
def the_contract_describes_every_capability_of_the_auth_api(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    contract = context.response.json()
    assert contract["openapi"].startswith("3."), contract["openapi"]
    assert contract["info"]["title"] == "Auth API", contract["info"]
    for path, method in PUBLISHED_OPERATIONS.items():
        assert method in contract["paths"].get(path, {}), f"{method.upper()} {path} is missing"


@then("the Swagger UI is shown")
def the_swagger_ui_is_shown(context: Context) -> None:
    response = context.response
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    assert "swagger-ui" in response.text


@then("the answer is a problem saying it was not found")
def the_answer_is_a_problem_saying_it_was_not_found(context: Context) -> None:
    assert context.response.status_code == 404, context.response.status_code
    assert problem(context.response)["title"] == "Not Found"
