"""The people of the scenarios: their credentials, their tokens, and who "she" is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import parse
import requests
from behave import register_type
from behave.runner import Context

from features.support.forged_tokens import expired_copy, foreign_copy, unsigned_copy

NOT_A_TOKEN = "this-is-not-a-token"
NOT_A_TOKEN_DESCRIPTION = "a string that is not a token"
_TOKEN = re.compile(
    r"(?P<form>her(?P<which> new| newest| previous| other device's)?|an expired|an unsigned|an?)"
    r" (?P<type>access|refresh) token(?P<variant> cut short| signed with another key)?"
)
# The same phrases for a {token:Token} placeholder, whose pattern must not add named groups.
TOKEN_PHRASE = re.sub(r"\(\?P<\w+>", "(?:", f"{_TOKEN.pattern}|{NOT_A_TOKEN_DESCRIPTION}")
SPELLINGS: dict[str, Callable[[str], str]] = {
    "in upper case": str.upper,
    "in mixed case": str.title,
    "with surrounding spaces": lambda email: f"  {email}  ",
    "in upper case between tabs": lambda email: f"\t{email.upper()}\t",
}


@dataclass(frozen=True)
class Tokens:
    """The access and refresh token of one session, as login or refresh handed them out."""

    access: str
    refresh: str

    @classmethod
    def issued_by(cls, response: requests.Response) -> Tokens:
        """Read the pair out of a successful login or refresh."""
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        return cls(access=body["access_token"], refresh=body["refresh_token"])


@dataclass
class Person:
    """Someone using the API, with an email no other scenario uses."""

    name: str
    email: str
    password: str
    user_id: str | None = None
    tokens: Tokens | None = None
    previous_tokens: Tokens | None = None
    other_device: Tokens | None = None
    # What her phone keeps from its last login, and sends with the next.
    device_token: str | None = None

    @classmethod
    def new(cls, name: str) -> Person:
        """Invent a person whose email and password are unique to this run."""
        suffix = uuid.uuid4().hex[:12]
        return cls(
            name=name,
            email=f"{name.lower()}-{suffix}@example.com",
            password=f"{name} keeps {suffix} to herself",
        )

    @property
    def session(self) -> Tokens:
        """Return the tokens of her latest login or refresh."""
        assert self.tokens is not None, f"{self.name} has not logged in"
        return self.tokens

    def token(self, description: str) -> str:
        """Return the token a step describes, such as 'an expired access token'."""
        if description == NOT_A_TOKEN_DESCRIPTION:
            return NOT_A_TOKEN
        match = _TOKEN.fullmatch(description)
        assert match is not None, f"no such token: {description!r}"
        tokens = self._tokens(match["which"])
        genuine = tokens.access if match["type"] == "access" else tokens.refresh
        form, variant = match["form"], match["variant"]
        if form == "an expired":
            return expired_copy(genuine)
        if form == "an unsigned":
            return unsigned_copy(genuine)
        if variant == " signed with another key":
            return foreign_copy(genuine)
        if variant == " cut short":
            return genuine[:-8]
        assert form.startswith("her"), f"no such token: {description!r}"
        return genuine

    def _tokens(self, which: str | None) -> Tokens:
        if which == " previous":
            assert self.previous_tokens is not None, f"{self.name} has not refreshed"
            return self.previous_tokens
        if which == " other device's":
            assert self.other_device is not None, f"{self.name} has no other device"
            return self.other_device
        return self.session

    def refreshed(self, tokens: Tokens) -> None:
        """Remember a new pair, and the one it replaces."""
        self.previous_tokens, self.tokens = self.session, tokens


def spelled(email: str, spelling: str) -> str:
    """Write an email another way that still means the same address."""
    return SPELLINGS[spelling](email)


def person(context: Context, who: str) -> Person:
    """Return the person a step names; "she" is whoever was named last."""
    if who == "she":
        actor: Person = context.actor
        return actor
    if who not in context.people:
        context.people[who] = Person.new(who)
    named: Person = context.people[who]
    context.actor = named
    return named


# Typed placeholders keep look-alike phrases apart: "her access token still opens her
# profile" must never match "{token} opens her profile" with token "access token still".
@parse.with_pattern(r"she|[A-Z][a-z]+")
def parse_who(text: str) -> str:
    """Match a person's name, or "she" for whoever was named last."""
    return text


@parse.with_pattern(TOKEN_PHRASE)
def parse_token(text: str) -> str:
    """Match a token description that `Person.token` understands."""
    return text


@parse.with_pattern(r'[^"]*')
def parse_quoted(text: str) -> str:
    """Match the inside of double quotes, even when it is empty."""
    return text


register_type(Who=parse_who, Token=parse_token, Quoted=parse_quoted)
