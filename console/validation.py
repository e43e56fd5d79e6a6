"""Validate input with pydantic and turn its errors into one clear message per field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticError

from console.errors import N_, ValidationFailed

M = TypeVar("M", bound=BaseModel)

# pydantic error type -> message shown to the user (translated when rendered).
_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_too_long": N_("Too long: at most %(max_length)s characters."),
    "enum": N_("Choose one of the listed options."),
    "literal_error": N_("Choose one of the listed options."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("Must be at least %(ge)s."),
    "less_than_equal": N_("Must be at most %(le)s."),
    "too_long": N_("Too many entries: at most %(max_length)s."),
    "too_short": N_("Too few entries: at least %(min_length)s."),
    "list_type": N_("Expected a list."),
    "dict_type": N_("Expected an object."),
    "model_type": N_("Expected an object."),
    "string_type": N_("Expected text."),
    "bool_type": N_("Expected yes or no."),
    "bool_parsing": N_("Expected yes or no."),
    "extra_forbidden": N_("Unknown field."),
    "finite_number": N_("Enter a number."),
}
FALLBACK = N_("This value is not valid.")


class Schema(BaseModel):
    """Base for input schemas: strip text, refuse unknown fields."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class FieldError(ValueError):
    """Raised by custom validators with a translatable message and its parameters."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "__all__"


def _nul_path(data: Any, path: str = "") -> str | None:
    """The first field holding a NUL character (databases refuse it), if any."""
    if isinstance(data, str):
        return path or "__all__" if "\x00" in data else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(
        data, list) else ()
    for key, value in items:
        found = _nul_path(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def parse(schema: type[M], data: Any) -> M:
    """Validate `data` against `schema` or raise ValidationFailed with a message per field."""
    if not isinstance(data, dict):
        raise ValidationFailed({"__all__": (N_("Expected a JSON object."), {})})
    bad = _nul_path(data)
    if bad:
        raise ValidationFailed({bad: (N_("This text contains a character that is not allowed."),
                                      {})})
    try:
        return schema.model_validate(data)
    except PydanticError as exc:
        errors: dict[str, tuple[str, dict[str, Any]]] = {}
        for err in exc.errors():
            path = _field_path(err["loc"])
            if path in errors:
                continue
            original = (err.get("ctx") or {}).get("error")
            if isinstance(original, FieldError):
                errors[path] = (original.message, original.params)
            else:
                ctx = {k: v for k, v in (err.get("ctx") or {}).items() if k != "error"}
                errors[path] = (_MESSAGES.get(err["type"], FALLBACK), ctx)
        raise ValidationFailed(errors) from None
