"""Request-body validation whose messages name the field and the rule, never the value.

Connexion's default messages come from jsonschema and quote the submitted value, which
would put passwords into responses and logs.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import FormDataValidator, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from starlette.types import Scope

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# A token request has a handful of parameters; a body of thousands is refused unparsed.
MAX_FORM_FIELDS = 20


def describe(error: ValidationError, root: str = "body") -> str:
    """Turn a jsonschema error into 'field: rule' without quoting the instance."""
    field = ".".join(str(part) for part in error.absolute_path) or root
    rule: Any = error.validator_value
    match error.validator:
        case "required":
            missing = [name for name in rule if name not in error.instance]
            return f"{_join(field, missing[0] if missing else '?')}: is required"
        case "additionalProperties":
            allowed = set(error.schema.get("properties", {}))
            unknown = sorted(k for k in error.instance if k not in allowed)
            named = [k for k in unknown if _SAFE_NAME.match(k)]
            if named and len(named) == len(unknown):
                return f"{field}: unknown field(s) not allowed: {', '.join(named)}"
            return f"{field}: unknown fields are not allowed"
        case "type":
            return f"{field}: must be of type {rule}"
        case "minLength":
            return f"{field}: must be at least {rule} characters long"
        case "maxLength":
            return f"{field}: must be at most {rule} characters long"
        case "format":
            return f"{field}: must be a valid {rule}"
        case "enum":
            return f"{field}: must be one of {', '.join(map(str, rule))}"
        case "minimum":
            return f"{field}: must be at least {rule}"
        case "maximum":
            return f"{field}: must be at most {rule}"
        case "minProperties":
            return f"{field}: must contain at least {rule} field(s)"
        case "pattern":
            return f"{field}: does not match the required pattern"
        case _:
            return f"{field}: breaks the '{error.validator}' rule"


def _join(parent: str, name: str) -> str:
    return name if parent == "body" else f"{parent}.{name}"


class SafeJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Validate JSON bodies against the spec, with value-free messages."""

    @cached_property
    def _validator(self) -> Draft4Validator:
        # Built once per operation rather than on every request.
        return Draft4RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream: Any, scope: Scope) -> Any:
        raw = b"".join([message async for message in stream])
        try:
            text = raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError):
            raise BadRequestProblem(detail="body: must be valid UTF-8 JSON") from None
        if not text:
            return None
        if text.strip() == "null" and not self._nullable:
            # An explicit null is a body, and not the object the spec asks for.
            raise BadRequestProblem(detail="body: must be of type object")
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadRequestProblem(detail=f"body: is not valid JSON ({error.msg})") from None
        except RecursionError:
            raise BadRequestProblem(detail="body: JSON is nested too deeply") from None
        except ValueError:
            # e.g. an integer literal longer than Python's int_max_str_digits.
            raise BadRequestProblem(detail="body: holds a number that is too long") from None
        try:
            # JSON escapes can spell lone surrogates ("\ud800"), which are not text at all.
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequestProblem(detail="body: must be valid UTF-8 JSON") from None
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            if self._required and not self._nullable:
                raise BadRequestProblem(detail="body: is required")
            return None
        error = next(iter(sorted(self._validator.iter_errors(body), key=_depth_first)), None)
        if error is not None:
            raise BadRequestProblem(detail=describe(error))
        return None


class SafeFormBodyValidator(FormDataValidator):  # type: ignore[misc]
    """Validate `application/x-www-form-urlencoded` bodies with value-free messages.

    Parameters the spec does not name are ignored, as RFC 7009 §2.1 and RFC 7662 §2.1
    allow; one it names given twice is refused (RFC 6749 §3.1).
    """

    @cached_property
    def _validator(self) -> Draft4Validator:
        return Draft4RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream: Any, scope: Scope) -> Any:
        raw = b"".join([message async for message in stream])
        try:
            pairs = parse_qsl(
                raw.decode("ascii"),
                keep_blank_values=True,
                strict_parsing=False,
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except UnicodeDecodeError:
            raise BadRequestProblem(detail="body: must be percent-encoded UTF-8") from None
        except ValueError:
            raise BadRequestProblem(
                detail=f"body: must have at most {MAX_FORM_FIELDS} parameters"
            ) from None
        named = self._schema.get("properties", {})
        body: dict[str, str] = {}
        for name, value in pairs:
            # Unknown parameters are ignored, repeated or not; only ours must come once.
            if name not in named:
                continue
            if name in body:
                raise BadRequestProblem(detail=f"{name}: must not be repeated")
            body[name] = value
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        error = next(iter(sorted(self._validator.iter_errors(body), key=_depth_first)), None)
        if error is not None:
            raise BadRequestProblem(detail=describe(error))
        return None


def _depth_first(error: ValidationError) -> tuple[int, str]:
    # Report the shallowest problem first: a missing field before a nested detail.
    return (len(error.absolute_path), str(error.validator))


class SafeParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Validate query and path parameters with value-free messages."""

    def validate(self, scope: Scope) -> None:
        # An operation without parameters has nothing to check but an empty query string;
        # skipping Connexion's request parsing then is exactly equivalent, and cheaper.
        if not scope.get("query_string") and not any(self.parameters.values()):
            return
        super().validate(scope)

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is None:
            if param.get("required"):
                return f"{param['name']}: is required"
            return None
        schema = param.get("schema", param)
        validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        error = best_match(validator.iter_errors(value))
        return None if error is None else describe(error, root=param["name"])
