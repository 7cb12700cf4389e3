"""Reading the CSV and JSON files users hand us, strictly, in one place.

- CSV rows split only on the format's own row separators (\\r, \\n, \\r\\n outside quotes): never on
  the other characters `str.splitlines` breaks at (U+0085, U+2028, U+2029, form feed, vertical
  tab), which are text inside a prompt;
- a column named twice (after trimming and lower-casing) is refused: a reader would otherwise
  keep one of them silently;
- JSON objects with a key given twice, and the non-standard NaN / Infinity, are refused;
- numbers are finite and within their range, or refused naming file, line and column.
Every refusal is one DataIGMError naming the file (and line).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError


def read_csv(path: Path, dialect: str | None = None) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line, row)]) of a CSV (or, by default for .tsv, tab-separated) file; column
    names trimmed and lower-cased; a row with more fields than the header is refused."""
    dialect = dialect or ("excel-tab" if path.suffix.lower() == ".tsv" else "excel")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, dialect=dialect, strict=True)
            try:
                header = [f.strip().lower() for f in reader.fieldnames or []]
                twice = sorted(name for name, n in Counter(header).items() if n > 1 and name)
                if twice:
                    places = ", ".join(str(i + 1) for i, name in enumerate(header) if name == twice[0])
                    raise DataIGMError(f"{path}: column {twice[0]!r} appears more than once in the header (columns "
                                       f"{places}); keep one")
                for raw in reader:
                    if None in raw:
                        raise DataIGMError(f"{path} line {reader.line_num}: more fields than the header has")
                    rows.append((reader.line_num, {k.strip().lower(): v for k, v in raw.items() if k is not None}))
            except csv.Error as exc:
                raise DataIGMError(f"{path} line {reader.line_num}: malformed CSV: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataIGMError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return header, rows


def _pairs_without_duplicates(where: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise DataIGMError(f"{where}: key {key!r} appears more than once in one JSON object")
            seen[key] = value
        return seen
    return hook


def _no_constants(where: str):
    def refuse(name: str) -> Any:
        raise DataIGMError(f"{where}: {name} is not a JSON number")
    return refuse


def parse_json(text: str | bytes, where: str) -> Any:
    """Strict JSON: standard numbers only (no NaN, Infinity) and no key twice in an object."""
    try:
        return json.loads(text, object_pairs_hook=_pairs_without_duplicates(where),
                          parse_constant=_no_constants(where))
    except json.JSONDecodeError as exc:
        raise DataIGMError(f"{where} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise DataIGMError(f"{where}: not UTF-8 text ({exc.reason})") from None


def read_json(path: Path) -> Any:
    """A JSON file, parsed strictly (`parse_json`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataIGMError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_json(data, str(path))


def number(text: str, where: str, low: float, high: float, integer: bool = False,
           shown: str | None = None) -> float | int:
    """A finite number in [low, high] from a text cell (an integer when `integer`: '12', '12.0' and
    '1.2e1' are 12; '12.5' is refused), or one DataIGMError naming `where` (`shown`: the range as
    the message writes it, e.g. '0..2**64-1')."""
    value = text.strip()
    shown = shown or f"{low:g}..{high:g}"
    try:
        parsed = float(value)
    except ValueError:
        raise DataIGMError(f"{where} {value!r} is not a number") from None
    if not math.isfinite(parsed):
        raise DataIGMError(f"{where} {value!r} is not a finite number")
    if integer:
        if not parsed.is_integer():
            raise DataIGMError(f"{where} {value!r} is not an integer")
        exact = int(value) if value.lstrip("+-").isdigit() else int(parsed)  # large seeds stay exact
        if not low <= exact <= high:
            raise DataIGMError(f"{where} {value} is outside {shown}")
        return exact
    if not low <= parsed <= high:
        raise DataIGMError(f"{where} {value} is outside {shown}")
    return parsed
