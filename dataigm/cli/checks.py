"""Argument checks every verb runs before any work: one precise line per bad value."""

from __future__ import annotations

import argparse

from dataigm.core.errors import DataIGMError


def check_out_folder(out: str) -> None:
    """--out must be new, empty, or a dataigm folder: never a folder of someone else's files."""
    from dataigm.core.layout import MARKS
    from dataigm.core.storage import Store

    if not out or not out.strip():
        raise DataIGMError("--out is empty; give a folder")
    store = Store(out)
    if not store.exists(""):
        return
    if not store.fs.isdir(store.root):
        raise DataIGMError(f"--out {out}: exists and is not a folder")
    entries = store.fs.ls(store.root, detail=False)
    if entries and not any(store.exists(mark) for mark in MARKS):
        raise DataIGMError(f"--out {out}: the folder holds other files and is not a dataigm folder; "
                           "give a new or empty folder")


def positive(args: argparse.Namespace, *names: str) -> None:
    """Integer options that must be >= 1 when given."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise DataIGMError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def in_range(args: argparse.Namespace, name: str, low: float, high: float) -> None:
    """A numeric option that must lie in low..high when given."""
    value = getattr(args, name, None)
    if value is not None and not low <= value <= high:
        raise DataIGMError(f"--{name.replace('_', '-')} must be in {low:g}..{high:g}, got {value}")
