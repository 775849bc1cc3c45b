"""Each person's tasks as the scenario knows them, and what her task requests carry.

Steps about one task (steps/tasks.py) and about lists of tasks (steps/task_lists.py) share
these, as every step module shares people.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import parse
from behave import register_type
from behave.runner import Context

from features.support.auth_api import api
from features.support.people import Person

Task = dict[str, Any]
LONGEST_LIST = 100


def her_tasks(context: Context, someone: Person) -> list[Task]:
    """Return her tasks, oldest first, as the API last showed them."""
    tasks: list[Task] = context.tasks.setdefault(someone.name, [])
    return tasks


def her_task(context: Context, someone: Person) -> Task:
    """Return the task she created last."""
    tasks = her_tasks(context, someone)
    assert tasks, f"{someone.name} has no task"
    return tasks[-1]


def carried_token(context: Context, someone: Person) -> str | None:
    """Return what her task requests carry: her access token, unless a step put another there."""
    if someone.name in context.carried_tokens:
        token: str | None = context.carried_tokens[someone.name]
        return token
    return someone.session.access


def owner_of(context: Context, who: Person, owner: str) -> Person:
    """Return whose task a step means: "her" is the one acting, "Bea's" is Bea."""
    if owner == "her":
        return who
    owner_person: Person = context.people[owner.removesuffix("'s")]
    return owner_person


def add_task(context: Context, someone: Person, fields: Task) -> None:
    """Create a task for her that the API must accept."""
    response = api(context).create_task(someone.session.access, fields)
    assert response.status_code == 201, (response.status_code, response.text)
    her_tasks(context, someone).append(response.json())


def listed(context: Context, someone: Person) -> list[Task]:
    """Return her whole list, read with her own access token."""
    response = api(context).list_tasks(someone.session.access, limit=LONGEST_LIST)
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["next_cursor"] is None, "more tasks than one page holds"
    items: list[Task] = body["items"]
    return items


def newest_first(tasks: list[Task]) -> list[Task]:
    """Return tasks in the order the list shows them."""
    return list(reversed(tasks))


def moment(text: str) -> datetime:
    """Read an RFC 3339 time, which must name its offset."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


@parse.with_pattern(r"her|[A-Z][a-z]+'s")
def parse_owner(text: str) -> str:
    """Match whose task a step means: "her" or a name with "'s"."""
    return text


register_type(Owner=parse_owner)
