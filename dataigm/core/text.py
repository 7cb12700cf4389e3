"""Text that comes from data, made safe for where it goes: a terminal line, a CSV cell, a
Markdown table cell, TeX, a file name.

Prompts, file names, method and config names come from files users and other people hand us; a
name can carry terminal escapes (`\\x1b[2J` clears the screen), a CSV cell starting with `=` is a
formula to a spreadsheet, a TeX `\\input{...}` reads a file when the table is compiled, a `|`
splits a Markdown cell, and a name with `/` or `..` is a path.
"""

from __future__ import annotations

import re

# ANSI/VT escape sequences (CSI, OSC, and two-character escapes), then any other C0/C1 control.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                "^": r"\textasciicircum{}", "_": r"\_", "~": r"\textasciitilde{}", "%": r"\%",
                # symbols tables use, as TeX writes them
                "↓": r"$\downarrow$", "↑": r"$\uparrow$", "≠": r"$\neq$", "†": r"\textdagger{}", "–": "--"}


def clean_line(text: str) -> str:
    """One printable line: escapes and control characters removed, line breaks and tabs as
    spaces, Python object reprs (`<_io.BytesIO object at 0x...>`) dropped."""
    text = _ESCAPES.sub("", str(text))
    text = re.sub(r"[\r\n\t\u2028\u2029\x85]+", " ", text)
    text = _CONTROLS.sub("", text)
    return _OBJECT_REPR.sub("", text)


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ (a formula) gets a
    leading apostrophe, as OWASP advises; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def markdown_cell(text: str) -> str:
    """Text as one Markdown table cell: one line (escapes and controls removed), pipes escaped."""
    return " ".join(clean_line(text).split()).replace("|", r"\|")


def tex_escape(text: str) -> str:
    """Text as TeX shows it literally: one line, every special character escaped (no command, no
    math, no comment can start), arrows, daggers and dashes as TeX writes them."""
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in clean_line(text) if ch.isprintable())


def safe_file_name(name: str, max_length: int = 100) -> str:
    """A name from data as one file name: only letters, digits, '.', '_' and '-', no leading dot
    (never a path, never hidden), at most `max_length` characters."""
    cleaned = _UNSAFE_NAME.sub("_", clean_line(name)).lstrip(".")[:max_length]
    return cleaned or "unnamed"
