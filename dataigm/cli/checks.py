"""Argument checks every verb runs before any work: one precise line per bad value."""

from __future__ import annotations

import argparse
from pathlib import Path

from dataigm.core.errors import DataIGMError


def check_out_folder(out: str, kind: str) -> str:
    """--out must be new, empty, or a dataigm folder (its owner marker, or a folder from before
    markers) of a kind a verb writing `kind` may write: never someone else's files, never a file.
    Returns how it is ours ("new", "marked", "legacy")."""
    from dataigm.core.folders import check_folder_kind

    return check_folder_kind(out, kind, "--out")


def check_out_file(out: str, suffixes: tuple[str, ...], flag: str = "--out") -> Path:
    """A file a verb writes, checked before any work: one of `suffixes`, not a folder, and its
    folder an existing folder (never created behind the user's back, never a file)."""
    if not out or not out.strip():
        raise DataIGMError(f"{flag} is empty; give a file name")
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        kinds = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        raise DataIGMError(f"{flag} {out}: use a {kinds} file name")
    if path.is_dir():
        raise DataIGMError(f"{flag} {out}: is a folder; give a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise DataIGMError(f"{flag} {out}: {parent} is a file, not a folder")
        if parent.is_dir():
            break
    if not path.parent.is_dir():
        raise DataIGMError(f"{flag} {out}: the folder {path.parent} does not exist; create it first")
    return path


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


def seed(args: argparse.Namespace, name: str = "seed") -> None:
    """A base seed option: 0..2**64-1 (what torch.Generator.manual_seed takes; build's --seed is
    checked with its generation settings)."""
    from dataigm.core.ids import MAX_SEED

    value = getattr(args, name, None)
    if value is not None and not 0 <= value <= MAX_SEED:
        raise DataIGMError(f"--{name.replace('_', '-')} must be in 0..2**64-1, got {value}")


def revision_for_hub_ids(args: argparse.Namespace, *pairs: tuple[str, str]) -> None:
    """(model option, its revision option) pairs: a revision names a Hub commit, branch or tag, so
    one given for a local folder (pinned by its content digest, the revision ignored) is refused
    rather than silently dropped."""
    for model, revision in pairs:
        folder, rev = getattr(args, model, None), getattr(args, revision, None)
        if folder and rev and Path(folder).exists():
            raise DataIGMError(f"--{revision.replace('_', '-')} {rev}: --{model.replace('_', '-')} {folder} is a local "
                               "path, pinned by its content digest; a revision applies to a Hub id only")
