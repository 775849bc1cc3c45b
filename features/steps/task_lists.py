"""Steps about lists of tasks: newest first, page by page, completed or open, hers alone."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api
from features.support.people import person
from features.support.task_records import (
    Task,
    add_task,
    carried_token,
    her_tasks,
    newest_first,
    owner_of,
)

KINDS = {"completed": True, "open": False}


def page_through(context: Context, who: str, limit: int, completed: bool | None) -> None:
    """Follow `next_cursor` from the first page to the last, keeping every page."""
    someone = person(context, who)
    client, token = api(context), carried_token(context, someone)
    pages: list[list[Task]] = []
    cursor = None
    # One page per task and one more is more than any correct walk needs.
    for _ in range(len(her_tasks(context, someone)) + 2):
        response = client.list_tasks(token, limit=limit, cursor=cursor, completed=completed)
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    else:
        raise AssertionError(f"the cursor never ran out: {pages}")
    context.pages, context.page_limit = pages, limit


@given("{who:Who} has {count:d} tasks")
def has_tasks(context: Context, who: str, count: int) -> None:
    someone = person(context, who)
    for number in range(1, count + 1):
        add_task(context, someone, {"title": f"Task {number}"})


@given("{who:Who} has {open_count:d} open and {completed_count:d} completed tasks")
def has_open_and_completed_tasks(
    context: Context, who: str, open_count: int, completed_count: int
) -> None:
    someone = person(context, who)
    # Interleaved, so that a filtered page is never just a slice of the full list.
    for number in range(max(open_count, completed_count)):
        if number < open_count:
            add_task(context, someone, {"title": f"Open task {number + 1}"})
        if number < completed_count:
            add_task(context, someone, {"title": f"Done task {number + 1}", "completed": True})


@when("{who:Who} lists her tasks")
def lists_her_tasks(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = api(context).list_tasks(carried_token(context, someone))


@when("{who:Who} pages through her tasks {limit:d} at a time")
def pages_through_her_tasks(context: Context, who: str, limit: int) -> None:
    page_through(context, who, limit, None)


@when("{who:Who} pages through her {kind} tasks {limit:d} at a time")
def pages_through_her_kind_of_tasks(context: Context, who: str, kind: str, limit: int) -> None:
    page_through(context, who, limit, KINDS[kind])


@then("she sees her tasks, newest first")
def she_sees_her_tasks_newest_first(context: Context) -> None:
    response = context.response
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["items"] == newest_first(her_tasks(context, context.actor)), body
    assert body["next_cursor"] is None, body


@then("she sees her own tasks and none of {owner:Owner}")
def she_sees_her_own_tasks_and_none_of_others(context: Context, owner: str) -> None:
    she_sees_her_tasks_newest_first(context)
    others = {task["id"] for task in her_tasks(context, owner_of(context, context.actor, owner))}
    assert others, f"{owner} has no task to hide"
    shown = {task["id"] for task in context.response.json()["items"]}
    assert not shown & others, shown & others


@then("she sees each of her tasks exactly once, newest first")
def she_sees_each_of_her_tasks_exactly_once_newest_first(context: Context) -> None:
    walked = [task for page in context.pages for task in page]
    assert walked == newest_first(her_tasks(context, context.actor)), context.pages


@then("she sees each of her {kind} tasks exactly once, newest first")
def she_sees_each_of_her_kind_of_tasks_exactly_once(context: Context, kind: str) -> None:
    walked = [task for page in context.pages for task in page]
    expected = [
        task
        for task in newest_first(her_tasks(context, context.actor))
        if task["completed"] is KINDS[kind]
    ]
    assert expected, f"she has no {kind} tasks"
    assert walked == expected, context.pages


@then("every page but the last is full")
def every_page_but_the_last_is_full(context: Context) -> None:
    *full, last = context.pages
    sizes = [len(page) for page in context.pages]
    assert all(len(page) == context.page_limit for page in full), sizes
    assert 1 <= len(last) <= context.page_limit, sizes
