"""Environment variables declared once: name, default, parser and bounds, on the field itself.

`Settings` declares each field with `setting(...)`; `read` builds the field values from an
environment, and `check` applies the bounds to a built instance, whether it came from the
environment or from a test calling `Settings(...)`. A refused value gets one sentence that
names the variable and never repeats the value, which may be a secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from authapi.errors import ConfigError

T = TypeVar("T")
Parser = Callable[[str, str], T]
DECLARATION = "environment"


@dataclass(frozen=True)
class Variable:
    """How one setting is read from the environment and which values it admits."""

    name: str
    parse: Parser[Any]
    # The rest of the sentence a refused value gets, after the variable's name.
    rule: str = ""
    valid: Callable[[Any], bool] | None = None
    # A second variable that names a file holding the value instead (JWT_PRIVATE_KEY_FILE).
    file_name: str | None = None
    # False takes the value as written, blanks and all (a signing key's bytes are its own).
    strip: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """Return every variable that sets this field."""
        return (self.name,) if self.file_name is None else (self.name, self.file_name)

    def read(self, values: Mapping[str, str], default: Any) -> Any:
        """Parse this variable from `values`, or return `default` when it is unset or blank."""
        raw = values.get(self.name, "")
        text = raw.strip() if self.strip else raw
        if text:
            return self.parse(self.name, text)
        if self.file_name is not None:
            path = values.get(self.file_name, "").strip()
            if path:
                return read_file(self.file_name, path)
        return default

    def check(self, value: Any) -> None:
        """Refuse `value` in one sentence naming the variable when it breaks the bounds."""
        if self.valid is not None and not self.valid(value):
            raise ConfigError(f"{self.name} {self.rule}")


def setting(
    name: str,
    default: T,
    *,
    parse: Parser[T] | None = None,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    valid: Callable[[T], bool] | None = None,
    rule: str = "",
    file_name: str | None = None,
    secret: bool = False,
    strip: bool = True,
) -> T:
    """Declare a dataclass field read from variable `name`, with its default and bounds."""
    if low is not None or high is not None:
        valid, rule = _bounds(low, high), rule or _bounds_rule(low, high)
    elif choices is not None:
        valid, rule = choices.__contains__, rule or f"must be one of {', '.join(choices)}."
    variable = Variable(
        name,
        parse or _parser_for(default),
        rule,
        valid,
        file_name,
        strip,
    )
    field: T = dataclasses.field(default=default, repr=not secret, metadata={DECLARATION: variable})
    return field


def declared(settings_class: type[Any]) -> Iterator[tuple[str, Variable, Any]]:
    """Yield each declared field's name, variable and default, in declaration order."""
    for field in dataclasses.fields(settings_class):
        variable = field.metadata.get(DECLARATION)
        if variable is not None:
            yield field.name, variable, field.default


def read(settings_class: type[Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Read every declared field of `settings_class` from `values`, by field name."""
    return {
        name: variable.read(values, default) for name, variable, default in declared(settings_class)
    }


def check(settings: Any) -> None:
    """Refuse the first declared field of `settings` whose value breaks its bounds."""
    for name, variable, _ in declared(type(settings)):
        variable.check(getattr(settings, name))


def text(_name: str, raw: str) -> str:
    """Take the value as written."""
    return raw


def lower(_name: str, raw: str) -> str:
    """Take the value in lower case."""
    return raw.lower()


def upper(_name: str, raw: str) -> str:
    """Take the value in upper case."""
    return raw.upper()


def whole_number(name: str, raw: str) -> int:
    """Parse an integer, or refuse it naming the variable."""
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None


def number(name: str, raw: str) -> float:
    """Parse a decimal number, or refuse it naming the variable."""
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number.") from None


def boolean(name: str, raw: str) -> bool:
    """Parse true/false, yes/no, on/off or 1/0, or refuse it naming the variable."""
    word = raw.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false.")


def items(_name: str, raw: str) -> tuple[str, ...]:
    """Split a comma-separated list, dropping blanks."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def files(name: str, raw: str) -> tuple[str, ...]:
    """Read each file of a comma-separated list of paths."""
    return tuple(read_file(name, path) for path in items(name, raw))


def clients(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """Split comma-separated `client_id:secret` pairs, or refuse them naming the variable."""
    found = []
    for item in items(name, raw):
        client_id, colon, secret = item.partition(":")
        if not colon:
            raise ConfigError(f"{name} must list client_id:secret pairs.")
        found.append((client_id.strip(), secret.strip()))
    return tuple(found)


def read_file(name: str, path: str) -> str:
    """Return the text of the file at `path`, or refuse it naming the variable."""
    try:
        return Path(path).read_text()
    except OSError:
        raise ConfigError(f"{name} names a file that cannot be read.") from None


def _parser_for(default: Any) -> Parser[Any]:
    # bool before int: True is an int too.
    for kind, parser in ((bool, boolean), (int, whole_number), (float, number), (tuple, items)):
        if isinstance(default, kind):
            return parser
    return text


def _bounds(low: float | None, high: float | None) -> Callable[[Any], bool]:
    return lambda value: (low is None or value >= low) and (high is None or value <= high)


def _bounds_rule(low: float | None, high: float | None) -> str:
    if high is None:
        return f"must be at least {low}."
    if low is None:
        return f"must be at most {high}."
    return f"must be between {low} and {high}."
