"""Which image slots an evaluation scores (units), and where each side's image comes from.

A unit is one row of a release config and its sample k (an image row), an IGMU tree's i_j_k slot,
or one file of a bare folder. Each unit has up to three images, each named by a locator:
`method` (the unlearned model's), `original` (the original model's image of the same unit) and
`twin` (attribute concepts' forget units: the original's image of the retain twin, same pair and
sample, IGMU's reference). Locators: `file:<path>`, `release:<row id>`, `generated:<row id>`.
Nothing is dropped silently: units without a method or reference image stay, and are counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError
from dataigm.core.images import IMAGE_SUFFIXES
from dataigm.eval import igmu
from dataigm.eval.release import ReleaseConfig, recorded_subclass_order

ROW_FIELDS = ("id", "role", "kind", "subclass", "pair_id", "prompt", "seed", "image_index", "concept", "status",
              "sha256", "source_id")
SIDES = ("method", "original", "twin")


def _unit(row: dict[str, Any], **sides: str | None) -> dict[str, Any]:
    return {**{k: row.get(k) for k in ROW_FIELDS}, **{side: sides.get(side) for side in SIDES}}


def _stems(folder: Path, recursive: bool, flag: str) -> dict[str, Path]:
    """Image files by name without suffix (relative path for a tree); `<id>.png` and `<id>.jpg`
    both present is ambiguous and refused, naming both."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataIGMError(f"{flag} {folder}: not a folder")
    found: dict[str, Path] = {}
    files = folder.rglob("*") if recursive else folder.iterdir()
    for path in sorted(files):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        stem = path.relative_to(folder).with_suffix("").as_posix()
        if stem in found:
            raise DataIGMError(f"{flag}: {found[stem]} and {path} are two images for {stem!r}; keep one")
        found[stem] = path
    if not found:
        raise DataIGMError(f"{flag} {folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def twins(rows: list[dict[str, Any]]) -> dict[tuple[str, Any], str]:
    """(pair id, image index) -> id of the retain row: the twin of the forget row of that pair."""
    return {(r["pair_id"], r.get("image_index")): r["id"] for r in rows if r.get("role") == "retain"}


def release_units(release: ReleaseConfig, images: Path | None, shape: str | None,
                  ) -> tuple[list[dict[str, Any]], list[str]]:
    """One unit per image row of a release config: the method's image generated (`images` None)
    or the file `<row id>.<suffix>` of `images`; the original and twin are the release's."""
    rows = release.rows
    files = _stems(images, recursive=False, flag="--images") if images is not None else {}
    twin_of = twins(rows) if shape == "attribute" else {}
    units = []
    for row in rows:
        twin = twin_of.get((row["pair_id"], row.get("image_index"))) if row.get("role") == "forget" else None
        if images is None:
            located = f"generated:{row['id']}"
        else:
            located = f"file:{files[row['id']].resolve()}" if row["id"] in files else None
        units.append(_unit(row, method=located, original=f"release:{row['id']}",
                           twin=f"release:{twin}" if twin else None))
    ids = {r["id"] for r in rows}
    return units, sorted(str(p) for stem, p in files.items() if stem not in ids)


def igmu_units(release: ReleaseConfig, root: Path, method: str, task: str | None, shape: str | None,
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """Units of an IGMU tree: one per i_j_k slot that holds the method's or the original's image.
    The originals are the ORG folders; without them, the release's own images where it has them."""
    rows = igmu.task_rows(release.rows, task)
    recorded = recorded_subclass_order(release.manifest, release.config)
    named = igmu.positions(rows, recorded)
    files, unmatched = igmu.scan(root, method)
    igmu.check_class_folders(files, igmu.class_names(rows, recorded))
    release_ids = {r["id"] for r in rows} if release.has_images else set()
    by_id = {r["id"]: r for r in rows}
    units: dict[tuple[str, str, int], dict[str, Any]] = {}
    for f in files:
        prompt = named.get((igmu.ROLE_FOLDERS[f.role], f.i, f.j))
        if prompt is None:
            unmatched.append(f.path)
            continue
        unit_id = f"{igmu.prompt_id(prompt)}-{f.k}"
        key = (prompt["pair_id"], prompt["role"], f.k)
        if key not in units:
            row = {**prompt, **by_id.get(unit_id, {}), "id": unit_id, "image_index": f.k}
            if unit_id not in by_id:
                row.update(seed=None, status=None, sha256=None)  # the tree's own image: no release row
            units[key] = _unit(row)
        units[key][f.side] = f"file:{f.path.resolve()}"
    for unit in units.values():
        if unit["original"] is None and unit["id"] in release_ids:
            unit["original"] = f"release:{unit['id']}"
    if shape == "attribute":
        retain_ids = {(r["pair_id"], r.get("image_index")): r["id"] for r in rows if r.get("role") == "retain"}
        for (pair, role, k), unit in units.items():
            if role != "forget":
                continue
            twin = units.get((pair, "retain", k))
            if twin is not None and twin["original"]:
                unit["twin"] = twin["original"]
            elif (pair, k) in retain_ids and retain_ids[(pair, k)] in release_ids:
                unit["twin"] = f"release:{retain_ids[(pair, k)]}"
    ordered = sorted(units.values(), key=lambda u: u["id"])
    return ordered, sorted(str(p) for p in unmatched)


def folder_units(images: Path, reference: Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """A bare folder (no release): one unit per image file (id: its relative path without suffix),
    paired with the --reference file of the same id where there is one."""
    method = _stems(images, recursive=True, flag="--images")
    original = _stems(reference, recursive=True, flag="--reference") if reference is not None else {}
    units = [_unit({"id": stem}, method=f"file:{path.resolve()}",
                   original=f"file:{original[stem].resolve()}" if stem in original else None)
             for stem, path in method.items()]
    return units, sorted(str(p) for stem, p in original.items() if stem not in method)


def select(units: list[dict[str, Any]], curated_only: bool, limit: int | None) -> list[dict[str, Any]]:
    """The units scored: every one by default (as IGMU does); with `curated_only`, those whose
    release row has status ok; with `limit`, a deterministic sample (by a hash of the id)."""
    from dataigm.core.ids import bucket

    if curated_only:
        if not any(u.get("status") for u in units):
            raise DataIGMError("--curated-only: the evaluated rows have no curation status (a prompt config or "
                               "a bare folder); drop the flag")
        units = [u for u in units if u.get("status") == "ok"]
    if limit is not None:
        units = sorted(sorted(units, key=lambda u: bucket(u["id"], 10**9))[:limit], key=lambda u: u["id"])
    if not units:
        raise DataIGMError("no units to evaluate" + (" with status ok (--curated-only)" if curated_only else ""))
    return units
