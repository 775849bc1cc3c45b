"""Steps about one task: creating, reading, replacing, changing and deleting it, and whose it is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import parse
import requests
from behave import given, register_type, then, when
from behave.runner import Context

from features.support.auth_api import AuthApi, api, problem
from features.support.people import Person, person
from features.support.task_records import (
    Task,
    add_task,
    carried_token,
    her_task,
    her_tasks,
    listed,
    moment,
    newest_first,
    owner_of,
)

Operation = Callable[[AuthApi, str | None, str], requests.Response]

A_TASK: Task = {"title": "Water the plants", "description": "The ferns first, then the palm"}
A_NEW_TITLE = "Repot the ferns"
# What "changes only the <field>" sends: the field's name, and its new value given the old task.
CHANGES: dict[str, tuple[str, Callable[[Task], Any]]] = {
    "title": ("title", lambda _: A_NEW_TITLE),
    "description": ("description", lambda _: "Only the palm this week"),
    "completed state": ("completed", lambda task: not task["completed"]),
}
# The one-task operations, so that a refusal can be replayed against a task nobody has.
OPERATIONS: dict[str, Operation] = {
    "reads": lambda client, token, task_id: client.read_task(token, task_id),
    "replaces": lambda client, token, task_id: client.replace_task(
        token, task_id, {"title": A_NEW_TITLE}
    ),
    "changes": lambda client, token, task_id: client.change_task(
        token, task_id, {"title": A_NEW_TITLE}
    ),
    "deletes": lambda client, token, task_id: client.delete_task(token, task_id),
}
_SHAPE = re.compile(
    r"a blank title|no title|a title of (?P<title>\d+) characters?"
    r"|a description of (?P<description>\d+) characters?|an unknown field (?P<unknown>\w+)"
)
# The same phrases for a {shape:TaskShape} placeholder, whose pattern must not add named groups.
SHAPE_PHRASE = re.sub(r"\(\?P<\w+>", "(?:", _SHAPE.pattern)


def task_fields(shape: str, base: Task) -> Task:
    """Return `base` reshaped as a step describes, such as 'a title of 201 characters'."""
    match = _SHAPE.fullmatch(shape)
    assert match is not None, f"no such task shape: {shape!r}"
    fields = dict(base)
    if shape == "a blank title":
        fields["title"] = " \t  "
    elif shape == "no title":
        fields.pop("title", None)
    elif match["title"]:
        fields["title"] = "t" * int(match["title"])
    elif match["description"]:
        fields["description"] = "d" * int(match["description"])
    else:
        fields[match["unknown"]] = str(uuid.uuid4())
    return fields


def create(context: Context, someone: Person, fields: Task) -> None:
    """Ask for a task with these fields, remembering what she sent."""
    context.sent = fields
    context.response = api(context).create_task(carried_token(context, someone), fields)


def act_on_task(context: Context, who: str, owner: str, operation: str) -> None:
    """Do one of the one-task operations on her own task or on someone else's."""
    someone = person(context, who)
    task = her_task(context, owner_of(context, someone, owner))
    context.operation, context.task_before = operation, task
    token = carried_token(context, someone)
    context.response = OPERATIONS[operation](api(context), token, task["id"])


def send_to_task(context: Context, who: str, owner: str, method: str, fields: Task) -> None:
    """Replace (PUT) or change (PATCH) her task with these fields."""
    someone = person(context, who)
    task = her_task(context, owner_of(context, someone, owner))
    context.task_before, context.sent = task, fields
    client, token = api(context), carried_token(context, someone)
    send = client.replace_task if method == "PUT" else client.change_task
    context.response = send(token, task["id"], fields)


def answered_task(context: Context) -> Task:
    """Check the answer carries her task, and that reading it again shows the same."""
    response = context.response
    assert response.status_code == 200, (response.status_code, response.text)
    task: Task = response.json()
    reread = api(context).read_task(context.actor.session.access, task["id"])
    assert reread.status_code == 200, (reread.status_code, reread.text)
    assert reread.json() == task, (reread.json(), task)
    tasks = her_tasks(context, context.actor)
    tasks[:] = [task if old["id"] == task["id"] else old for old in tasks]
    return task


@parse.with_pattern(SHAPE_PHRASE)
def parse_task_shape(text: str) -> str:
    """Match a task shape that `task_fields` understands."""
    return text


register_type(TaskShape=parse_task_shape)


@given("{who:Who} has a task")
def has_a_task(context: Context, who: str) -> None:
    add_task(context, person(context, who), A_TASK)


@given("{who:Who} has a completed task")
def has_a_completed_task(context: Context, who: str) -> None:
    add_task(context, person(context, who), {**A_TASK, "completed": True})


@given("her requests carry {credential}")
def her_requests_carry(context: Context, credential: str) -> None:
    someone = context.actor
    if credential == "no token":
        token = None
    elif credential == "her access token from a session she has logged out of":
        response = api(context).logout(someone.session.access)
        assert response.status_code == 204, (response.status_code, response.text)
        token = someone.session.access
    else:
        token = someone.token(credential)
    context.carried_tokens[someone.name] = token


@when("{who:Who} creates a task")
def creates_a_task(context: Context, who: str) -> None:
    create(context, person(context, who), A_TASK)


@when('{who:Who} creates a task titled "{title:Quoted}"')
def creates_a_task_titled(context: Context, who: str, title: str) -> None:
    create(context, person(context, who), {"title": title})


@when("{who:Who} creates a task with {shape:TaskShape}")
def creates_a_task_with(context: Context, who: str, shape: str) -> None:
    create(context, person(context, who), task_fields(shape, A_TASK))


@when("{who:Who} reads {owner:Owner} task")
def reads_task(context: Context, who: str, owner: str) -> None:
    act_on_task(context, who, owner, "reads")


@when("{who:Who} replaces {owner:Owner} task")
@when("{who:Who} replaces {owner:Owner} task with one that has only a new title")
def replaces_task(context: Context, who: str, owner: str) -> None:
    act_on_task(context, who, owner, "replaces")


@when("{who:Who} changes {owner:Owner} task")
def changes_task(context: Context, who: str, owner: str) -> None:
    act_on_task(context, who, owner, "changes")


@when("{who:Who} deletes {owner:Owner} task")
def deletes_task(context: Context, who: str, owner: str) -> None:
    act_on_task(context, who, owner, "deletes")


@when("{who:Who} replaces {owner:Owner} task with {shape:TaskShape}")
def replaces_task_with(context: Context, who: str, owner: str, shape: str) -> None:
    send_to_task(context, who, owner, "PUT", task_fields(shape, {"title": A_NEW_TITLE}))


@when("{who:Who} changes {owner:Owner} task with {shape:TaskShape}")
def changes_task_with(context: Context, who: str, owner: str, shape: str) -> None:
    send_to_task(context, who, owner, "PATCH", task_fields(shape, {}))


@when("{who:Who} changes only the {field} of {owner:Owner} task")
def changes_only_the_field_of_task(context: Context, who: str, field: str, owner: str) -> None:
    someone = person(context, who)
    name, new_value = CHANGES[field]
    task = her_task(context, owner_of(context, someone, owner))
    send_to_task(context, who, owner, "PATCH", {name: new_value(task)})


@then("her task is created")
def her_task_is_created(context: Context) -> None:
    response, sent = context.response, context.sent
    assert response.status_code == 201, (response.status_code, response.text)
    task = response.json()
    uuid.UUID(task["id"])
    assert task["title"] == sent["title"].strip(), task
    assert task["description"] == sent.get("description"), task
    assert task["completed"] is sent.get("completed", False), task
    assert moment(task["updated_at"]) == moment(task["created_at"]), task
    located = api(context).follow(response.headers["Location"], context.actor.session.access)
    assert located.status_code == 200, (response.headers["Location"], located.text)
    assert located.json() == task, (located.json(), task)
    her_tasks(context, context.actor).append(task)


@then('its title is "{title:Quoted}"')
def its_title_is(context: Context, title: str) -> None:
    assert her_task(context, context.actor)["title"] == title, her_task(context, context.actor)


@then("she sees her task")
def she_sees_her_task(context: Context) -> None:
    response = context.response
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.json() == her_task(context, context.actor), response.text


@then("her task has the new title, no description, and is not completed")
def her_task_has_the_new_title_no_description_and_is_not_completed(context: Context) -> None:
    task = answered_task(context)
    assert context.task_before["description"] and context.task_before["completed"]
    assert task["title"] == A_NEW_TITLE, task
    assert task["description"] is None, task
    assert task["completed"] is False, task


@then("it keeps its id and its creation time")
def it_keeps_its_id_and_its_creation_time(context: Context) -> None:
    before, task = context.task_before, context.response.json()
    assert task["id"] == before["id"], (task, before)
    assert task["created_at"] == before["created_at"], (task, before)
    assert moment(task["updated_at"]) >= moment(before["updated_at"]), (task, before)


@then("the {field} of her task is changed")
def the_field_of_her_task_is_changed(context: Context, field: str) -> None:
    task = answered_task(context)
    name, _ = CHANGES[field]
    assert task[name] == context.sent[name], (task, context.sent)
    assert task[name] != context.task_before[name], (task, context.task_before)


@then("the rest of her task is as it was")
def the_rest_of_her_task_is_as_it_was(context: Context) -> None:
    before, task = context.task_before, context.response.json()
    kept = set(before) - set(context.sent) - {"updated_at"}
    assert {k: task[k] for k in kept} == {k: before[k] for k in kept}, (task, before)
    assert moment(task["updated_at"]) >= moment(before["updated_at"]), (task, before)


@then("her task is deleted")
def her_task_is_deleted(context: Context) -> None:
    response = context.response
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b"", response.content


@then("her task can no longer be read")
def her_task_can_no_longer_be_read(context: Context) -> None:
    response = api(context).read_task(context.actor.session.access, context.task_before["id"])
    assert response.status_code == 404, (response.status_code, response.text)
    assert problem(response)["title"] == "Not Found", response.text


@then("it is no longer in her list")
def it_is_no_longer_in_her_list(context: Context) -> None:
    shown = {task["id"] for task in listed(context, context.actor)}
    assert context.task_before["id"] not in shown, shown


@then("the answer is the same as for a task that does not exist")
def the_answer_is_the_same_as_for_a_task_that_does_not_exist(context: Context) -> None:
    answer = context.response
    token = carried_token(context, context.actor)
    missing = OPERATIONS[context.operation](api(context), token, str(uuid.uuid4()))
    assert missing.status_code == 404, (missing.status_code, missing.text)
    assert problem(missing)["title"] == "Not Found", missing.text
    assert answer.status_code == missing.status_code, (answer.status_code, answer.text)
    assert answer.content == missing.content, (answer.text, missing.text)
    for header in ("Content-Type", "Content-Length", "Cache-Control", "WWW-Authenticate"):
        assert answer.headers.get(header) == missing.headers.get(header), header


@then("{owner:Owner} task is as it was")
def task_is_as_it_was(context: Context, owner: str) -> None:
    owner_person = owner_of(context, context.actor, owner)
    task = her_task(context, owner_person)
    response = api(context).read_task(owner_person.session.access, task["id"])
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.json() == task, (response.json(), task)


@then("her tasks are as they were")
def her_tasks_are_as_they_were(context: Context) -> None:
    assert listed(context, context.actor) == newest_first(her_tasks(context, context.actor))
