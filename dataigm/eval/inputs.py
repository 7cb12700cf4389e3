"""What an evaluation reads: the rows of a release config (with the original model's images, read
lazily), and images generated elsewhere, matched to rows by file name.

Layouts of an images folder:
- rowid: `<row id>.png` (any image suffix);
- igmu: the public IGMU benchmark's `{i}_{j}_{k}.png` (i: subclass position, j: prompt position,
  k: sample), either flat (forget images) or under `forgot/`, `remove_word/` (retain) and
  `unrelated/` folders, each optionally with a `<METHOD>/` folder inside (the only one, or the
  one named like --method).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError
from dataigm.core.images import IMAGE_SUFFIXES

LAYOUTS = ("rowid", "igmu")
IGMU_ROLE_DIRS = {"forget": "forgot", "retain": "remove_word", "unrelated": "unrelated"}
ROW_COLUMNS = ("id", "category", "concept", "subclass", "role", "kind", "pair_id", "split", "prompt",
               "negative_prompt", "seed", "image_index", "guidance_scale", "height", "width", "num_inference_steps",
               "scheduler", "scheduler_config", "dtype", "batch_size", "model_id", "model_revision", "status",
               "pair_status", "source_id", "sha256", "attack")


@dataclass
class ReleaseConfig:
    """The rows of one config of a release (no image bytes: `images` reads them on demand)."""

    source: str
    revision: str | None
    config: str
    files: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    _where: dict[str, tuple[str, int]] | None = field(default=None, init=False, repr=False)  # id -> (file, group)
    _last: tuple[tuple[str, int] | None, dict[str, bytes]] = field(default=(None, {}), init=False, repr=False)

    def images(self, ids: set[str]) -> dict[str, bytes]:
        """Image bytes of the given row ids: only the row groups holding them are read (found from
        the id column once), and the last group read is kept for the next batch."""
        import pyarrow.parquet as pq

        from dataigm.core.storage import images_by_id, row_groups

        if self._where is None:
            self._where = {row_id: (path, group) for path in self.files
                           for group, table in enumerate(row_groups(path, ["id"]))
                           for row_id in table.column("id").to_pylist()}
        out: dict[str, bytes] = {}
        for where in sorted({self._where[i] for i in ids if i in self._where}):
            if self._last[0] != where:
                table = pq.ParquetFile(where[0]).read_row_group(where[1], columns=["id", "image"])
                self._last = (where, images_by_id([table], set(table.column("id").to_pylist())))
            out.update({i: data for i, data in self._last[1].items() if i in ids})
        return out


def read_release(source: str, config: str, revision: str | None = None, statuses: tuple[str, ...] = ("ok",),
                 limit: int | None = None) -> ReleaseConfig:
    """Rows of `config` whose status is in `statuses` (all when empty), optionally a deterministic
    sample of `limit` rows (by a hash of the row id)."""
    import pyarrow.parquet as pq

    from dataigm.core.ids import bucket
    from dataigm.hub.loading import config_files, release_manifest, split_source

    source, at = split_source(source)
    revision = revision or at
    files = config_files(config, source, revision)
    rows = []
    for path in files:
        schema = pq.read_schema(path)
        if "image" not in schema.names:
            raise DataIGMError(f"{config} is a prompt config; evaluate an image config")
        columns = [c for c in ROW_COLUMNS if c in schema.names]
        rows.extend(pq.read_table(path, columns=columns).to_pylist())
    if statuses:
        rows = [r for r in rows if r.get("status") in statuses]
    rows.sort(key=lambda r: r["id"])
    if limit is not None:
        rows = sorted(rows, key=lambda r: bucket(r["id"], 10**9))[:limit]
        rows.sort(key=lambda r: r["id"])
    if not rows:
        raise DataIGMError(f"{source} config {config}: no rows with status {', '.join(statuses) or 'any'}")
    return ReleaseConfig(source, revision, config, files, rows, release_manifest(source, revision))


def _prompt_position(row: dict[str, Any]) -> int:
    source_id = row.get("source_id") or ""
    if re.fullmatch(r".+/.+/\d+", source_id):  # imported IGMU JSON: concept/subclass/position
        return int(source_id.rsplit("/", 1)[1])
    match = re.search(r"-(\d+)$", row["pair_id"])
    if not match:
        raise DataIGMError(f"row {row['id']}: cannot tell its IGMU prompt position from pair_id {row['pair_id']!r}")
    return int(match.group(1))


def igmu_names(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """row id -> (IGMU role folder, `{i}_{j}_{k}.png`) for the forget, retain and unrelated rows.

    i is the subclass position in order of first appearance per role (the order of the IGMU
    prompt JSON, and of dataigm's recipes), j the prompt position, k the image index."""
    order: dict[str, list[str]] = {}
    for row in rows:
        subs = order.setdefault(row["role"], [])
        if row["subclass"] not in subs:
            subs.append(row["subclass"])
    out = {}
    for row in rows:
        folder = IGMU_ROLE_DIRS.get(row["role"])
        if folder is None:
            continue
        i = order[row["role"]].index(row["subclass"])
        out[row["id"]] = (folder, f"{i}_{_prompt_position(row)}_{row['image_index']}.png")
    return out


def _files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}


def match_images(rows: list[dict[str, Any]], folder: Path, layout: str, method: str | None = None,
                 ) -> tuple[dict[str, Path], list[str]]:
    """(row id -> image file, files that match no row)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataIGMError(f"--images {folder}: not a folder")
    if layout not in LAYOUTS:
        raise DataIGMError(f"--layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if layout == "rowid":
        files = _files(folder)
        by_stem = {p.stem: p for p in files.values()}
        matched = {r["id"]: by_stem[r["id"]] for r in rows if r["id"] in by_stem}
        extra = sorted(set(by_stem) - {r["id"] for r in rows})
        return matched, extra
    names = igmu_names(rows)
    role_dirs = {role: folder / d for role, d in IGMU_ROLE_DIRS.items() if (folder / d).is_dir()}
    matched, used = {}, set()
    for row_id, (role_dir, name) in names.items():
        role = next(r for r, d in IGMU_ROLE_DIRS.items() if d == role_dir)
        base = role_dirs.get(role, folder if not role_dirs and role == "forget" else None)
        if base is None:
            continue
        path = _method_dir(base, method) / name
        if path.is_file():
            matched[row_id] = path
            used.add(path)
    bases = role_dirs.values() if role_dirs else [folder]
    every = {p for b in bases for p in _files(_method_dir(b, method)).values()}
    return matched, sorted(str(p) for p in every - used)


def _method_dir(base: Path, method: str | None) -> Path:
    """Where a role folder keeps the images: itself, its `<METHOD>/` folder, or the one folder it
    holds (IGMU writes `forgot/<METHOD NAME>/`, in any case); several folders and none named
    like --method: an error naming them."""
    if _files(base):
        return base
    subdirs = sorted(d for d in base.iterdir() if d.is_dir())
    named = [d for d in subdirs if method and d.name.lower() == method.lower()]
    if named or len(subdirs) == 1:
        return (named or subdirs)[0]
    if subdirs:
        raise DataIGMError(f"--images {base}: holds the folders {', '.join(d.name for d in subdirs)}; "
                           "name one with --method")
    return base
