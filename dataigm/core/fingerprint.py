"""Content fingerprints of local files and folders (model weights, checkpoints, judge backbones): a
fast hash of every file's bytes, so a fine-tune saved in place under the same name is never
mistaken for the original."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

CHUNK = 16 * 1024 * 1024


def hash_file(h: Any, path: Path) -> Any:
    """Feed a file's bytes to the hashlib-style object `h`, a chunk at a time; returns `h`."""
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h


def folder_digest(folder: Path) -> str:
    """xxh3-128 over each file's relative path and bytes, in sorted order (≈ disk speed)."""
    import xxhash

    h = xxhash.xxh3_128()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        hash_file(h, path)
    return h.hexdigest()[:32]


def content_digest(path: Path) -> str:
    """folder_digest of a folder, or the same hash of one file's bytes."""
    import xxhash

    path = Path(path)
    return folder_digest(path) if path.is_dir() else hash_file(xxhash.xxh3_128(), path).hexdigest()[:32]


def path_digest(path: Path) -> str:
    """content_digest, recomputed only when a file's size or modification time changes (curation
    asks once per shard)."""
    path = Path(path).resolve()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _cached_digest(path, stats)


@cache
def _cached_digest(path: Path, stats: tuple[tuple[str, int, int], ...]) -> str:
    return content_digest(path)
