"""Errors dataigm raises for bad input, and the helpers that make their messages precise."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


class DataIGMError(Exception):
    """An error caused by the user's input or environment; the CLI prints it on one line."""


class UnknownNameError(DataIGMError, KeyError):
    """A name (concept, scheduler, config key...) that is not known; suggests the close match."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        known = sorted(known)
        hint = suggest(name, known) or f"; known: {', '.join(known)}"
        super().__init__(f"unknown {kind} {name!r}{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class RecipeError(DataIGMError):
    """A malformed taxonomy or recipe file."""


def suggest(name: str, known: Iterable[str]) -> str:
    """'; did you mean X?' for the closest known name, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_keys(
    mapping: Mapping[str, Any],
    where: str,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> None:
    """Reject unknown keys (with the close match) and missing required keys in a parsed file."""
    if not isinstance(mapping, Mapping):
        raise RecipeError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    required, optional = list(required), list(optional)
    allowed = set(required) | set(optional)
    for key in mapping:
        if key not in allowed:
            raise RecipeError(f"{where}: unknown key {key!r}{suggest(str(key), allowed)}")
    for key in required:
        if key not in mapping:
            raise RecipeError(f"{where}: missing required key {key!r}")


def expect_list_of_str(value: Any, where: str, allow_empty: bool = False) -> list[str]:
    """A recipe or taxonomy value that must be a (non-empty) list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecipeError(f"{where}: expected a list of strings")
    if not value and not allow_empty:
        raise RecipeError(f"{where}: must not be empty")
    return list(value)


NAME_RE_TEXT = "[a-z0-9_-]+"


def check_name(value: str, what: str) -> str:
    """Config, concept and file names: lower-case letters, digits, '_' and '-' only (no paths)."""
    import re

    if not isinstance(value, str) or not re.fullmatch(NAME_RE_TEXT, value) or value in ("data",):
        raise DataIGMError(f"{what} {value!r}: use only {NAME_RE_TEXT} (and not 'data')")
    return value
