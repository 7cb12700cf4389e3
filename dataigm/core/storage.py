"""Atomic file writes on any fsspec location (local disk first), with one clear error for a
corrupt file instead of a parser's traceback."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from dataigm.core.errors import DataIGMError

TMP_MARK = ".tmp-"


class Store:
    """A folder on an fsspec filesystem: `Store("/data/out")`, `Store("s3://bucket/out")`."""

    def __init__(self, url: str):
        if not url or not str(url).strip():
            raise DataIGMError("the output location is empty; give a folder")
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.url = url
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = bool({"file", "local"} & set(protocols))

    def path(self, *parts: str) -> str:
        """The full path (or URL) of a path relative to the folder."""
        return "/".join([self.root.rstrip("/"), *parts])

    def exists(self, rel: str) -> bool:
        """Whether `rel` exists."""
        return self.fs.exists(self.path(rel))

    def size(self, rel: str) -> int:
        """The byte size of `rel`."""
        return int(self.fs.size(self.path(rel)))

    def glob(self, pattern: str) -> list[str]:
        """Relative paths matching `pattern`, temporary files excluded."""
        root = self.root.rstrip("/") + "/"
        found = (p[len(root):] if p.startswith(root) else p for p in self.fs.glob(self.path(pattern)))
        return sorted(p for p in found if TMP_MARK not in p.rsplit("/", 1)[-1])

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write to a temporary name, then rename: readers never see a partial file."""
        final = self.path(rel)
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{final}{TMP_MARK}{uuid.uuid4().hex[:8]}"
        try:
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def read_bytes(self, rel: str) -> bytes:
        """The bytes of `rel`."""
        with self.fs.open(self.path(rel), "rb") as f:
            return f.read()

    def write_json(self, rel: str, obj: Any) -> None:
        """Write `obj` as sorted, indented JSON, atomically."""
        self.write_bytes(rel, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, rel: str, what: str = "JSON file") -> Any:
        """Parsed JSON of `rel`; a corrupt or missing file is one line naming `what` it is."""
        try:
            return json.loads(self.read_bytes(rel))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataIGMError(f"{self.path(rel)}: corrupt {what} ({exc})") from None
        except FileNotFoundError:
            raise DataIGMError(f"{self.path(rel)}: missing {what}") from None

    def write_table(self, rel: str, table: pa.Table, row_group_size: int | None = None) -> None:
        """Write a table as zstd parquet, atomically."""
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=row_group_size, compression="zstd")
        self.write_bytes(rel, buf.getvalue())

    def read_table(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        """A parquet file (some `columns`); an unreadable one is one line."""
        try:
            with self.fs.open(self.path(rel), "rb") as f:
                return pq.read_table(f, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataIGMError(f"{self.path(rel)}: unreadable parquet file ({str(exc).splitlines()[0]})") from None

    def parquet_file(self, rel: str) -> pq.ParquetFile:
        """A parquet file opened for reading row group by row group."""
        try:
            return pq.ParquetFile(self.fs.open(self.path(rel), "rb"))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataIGMError(f"{self.path(rel)}: unreadable parquet file ({str(exc).splitlines()[0]})") from None

    def remove(self, rel: str) -> None:
        """Delete a file or folder (recursively) if it exists."""
        if self.exists(rel):
            self.fs.rm(self.path(rel), recursive=True)

    def rename(self, src: str, dst: str) -> None:
        """Move `src` to `dst` (files or folders)."""
        self.fs.mv(self.path(src), self.path(dst), recursive=True)

    def remove_temporaries(self, under: str = "") -> int:
        """Delete leftover temporary files (from a killed writer) below `under`."""
        found = [p for p in self.fs.find(self.path(under) if under else self.root)
                 if TMP_MARK in p.rsplit("/", 1)[-1]]
        for p in found:
            self.fs.rm(p)
        return len(found)

    @contextmanager
    def lock(self, rel: str) -> Iterator[None]:
        """An exclusive lock (local folders: a lock file; elsewhere no-op) for read-modify-write of
        shared files such as the plan and the manifest, safe under concurrent `--shard` runs."""
        if not self.local:
            yield
            return
        from filelock import FileLock

        self.fs.makedirs(self.path(rel).rsplit("/", 1)[0], exist_ok=True)
        with FileLock(self.path(rel) + ".lock"):
            yield


@contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """A temporary path beside local file `path` to write (in any way: a stream, a library's
    save); renamed to `path` when the block succeeds, deleted when it fails: no half-written file
    and no temporary left. A write the system refuses (no space, no permission) is one
    DataIGMError naming `path`."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}{TMP_MARK}{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        raise DataIGMError(f"{final}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_file(path: Path | str, data: bytes | str) -> None:
    """Write a local file atomically (see `atomic_output`)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def row_groups(path: str, columns: list[str]) -> Iterator[pa.Table]:
    """A parquet file one row group at a time: peak memory is one group, not the file."""
    pf = pq.ParquetFile(path)
    for group in range(pf.num_row_groups):
        yield pf.read_row_group(group, columns=columns)


def images_by_id(tables: Iterable[pa.Table], ids: set[str]) -> dict[str, bytes]:
    """Image bytes of the rows `ids` found in `tables` (with "id" and "image" columns)."""
    found: dict[str, bytes] = {}
    for table in tables:
        for row_id, image in zip(table.column("id").to_pylist(), table.column("image").to_pylist(), strict=True):
            if row_id in ids:
                found[row_id] = image["bytes"]
    return found
