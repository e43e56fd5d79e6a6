"""The password policy, in one place: long enough, not on the bundled list of common and leaked
passwords (console/data/common-passwords.txt.gz, see NOTICE), not built on the username.
Pure functions: the CLI, the admin desk and the password page all ask `problems()`."""

from __future__ import annotations

import gzip
import secrets
from functools import lru_cache
from pathlib import Path

from console.errors import N_, ValidationFailed

LIST_PATH = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_DISTINCT = 5
# Digits and symbols people add around a common word ("Password2024!" is still "password").
_DECORATION = "0123456789!@#$%^&*()-_=+.,;:?/\\|~`'\"[]{}<> "

TOO_SHORT = N_("Too short: please use at least %(min)s characters. A few words together make "
               "a good password that is easy to remember.")
TOO_LONG = N_("Too long: please use at most %(max)s characters.")
COMMON = N_("This password is on a list of common or leaked passwords. Please choose another.")
TOO_SIMPLE = N_("Too simple: please use more different characters.")
HAS_USERNAME = N_("The password must not contain the username. Please choose another.")
BAD_CHARACTER = N_("This text contains a character that is not allowed.")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased (read once per process)."""
    with gzip.open(LIST_PATH, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def is_common(password: str) -> bool:
    """On the list, as typed or with digits and symbols added around a listed word."""
    lowered = password.lower()
    listed = common_passwords()
    if lowered in listed:
        return True
    core = lowered.strip(_DECORATION)
    return len(core) >= 4 and core != lowered and core in listed


def problems(password: str, *, username: str | None = None,
             min_length: int = MIN_LENGTH) -> list[tuple[str, dict]]:
    """Every rule the password breaks, as (message, params) to translate; empty when it is good."""
    password = password or ""
    found: list[tuple[str, dict]] = []
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in password):
        return [(BAD_CHARACTER, {})]
    if len(password) < min_length:
        found.append((TOO_SHORT, {"min": min_length}))
    if len(password) > MAX_LENGTH:
        found.append((TOO_LONG, {"max": MAX_LENGTH}))
    if is_common(password):
        found.append((COMMON, {}))
    elif password and len(set(password.lower())) < MIN_DISTINCT:
        found.append((TOO_SIMPLE, {}))
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        found.append((HAS_USERNAME, {}))
    return found


def check(password: str, *, username: str | None = None, min_length: int = MIN_LENGTH,
          field: str = "password") -> None:
    """Raise ValidationFailed on `field` with the first broken rule (the most useful one)."""
    found = problems(password, username=username, min_length=min_length)
    if found:
        raise ValidationFailed({field: found[0]})


# Temporary passwords: no look-alike characters (0/o, 1/l/i), read out over the phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A random password for a new or reset account, shown once (about 79 bits)."""
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)
