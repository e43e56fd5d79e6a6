"""Typed domain errors, mapped once to clear 4xx answers in the user's language."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when shown (babel keyword N_)."""
    return message


class DomainError(Exception):
    """A request the domain refuses; `message` is shown to the user (translated at render)."""

    status = 409

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class NotFound(DomainError):
    """Unknown or out-of-scope object: answered 404 so nothing about it leaks."""

    status = 404

    def __init__(self, what: str) -> None:
        super().__init__(N_("Not found."))
        self.what = what


class Forbidden(DomainError):
    """The user's role or team may not do this."""

    status = 403


class IllegalTransition(DomainError):
    """A state machine refused a move."""

    status = 409


class Conflict(DomainError):
    """Someone else changed the object first (busy team, already assigned)."""

    status = 409


class ValidationFailed(DomainError):
    """Input that does not validate: one message per field."""

    status = 422

    def __init__(self, errors: dict[str, tuple[str, dict]]) -> None:
        super().__init__(N_("Please correct the highlighted fields."))
        self.errors = errors


class ImportFailed(ValidationFailed):
    """A CSV file with bad lines: nothing was stored; one message per line and field."""

    def __init__(self, problems: list[tuple[int, str, str, dict]]) -> None:
        super().__init__({f"line {line}: {column}": (message, params)
                          for line, column, message, params in problems})
        self.message = N_("Nothing was imported: please correct the lines listed and import "
                          "the file again.")
        self.problems = problems


def prefixed(exc: ValidationFailed, prefix: str) -> ValidationFailed:
    """The same field errors under a parent field name (e.g. 'incident.')."""
    return ValidationFailed({prefix + key: value for key, value in exc.errors.items()})
