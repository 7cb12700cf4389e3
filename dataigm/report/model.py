"""What a report page is made of: sections of tables, figures and image galleries."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataigm.report.plots import Figure


@dataclass
class Table:
    """A titled table of strings."""

    title: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Picture:
    """One thumbnail in a gallery item."""

    key: str  # thumbnail key
    caption: str
    seed: int | None = None


@dataclass
class Item:
    """One gallery cell: one picture, or a pair side by side, with caption lines."""

    pictures: list[Picture]
    lines: list[str]
    kind: str = "single"  # single | pair


@dataclass
class Gallery:
    """A titled row of items (pictures with captions)."""

    title: str
    items: list[Item]


@dataclass
class Section:
    """One input's part of the page: notes, tables, figures and galleries."""

    kind: str  # release | judge | evaluation
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    galleries: list[Gallery] = field(default_factory=list)


def fmt(value: object) -> str:
    """A value as the report prints it (4 significant digits; a dash for None)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)
