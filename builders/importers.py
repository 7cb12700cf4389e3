"""Importers for prompt sets users already have: the I2P CSV (and its derivatives in other
benchmarks) and the IGMU JSON (concept -> subclass -> prompts; forget and retain files pair up by
position). Every source row is kept, with its source and row id; duplicates are flagged, never
dropped."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from builders.grammar import normalise
from dataigm.core.errors import DataIGMError
from dataigm.core.ids import MAX_SEED, image_seed, split_of

FORMATS = ("i2p", "igmu")
# Column aliases: the I2P CSV as published, then the names its derivatives use.
SEED_COLUMNS = ("sd_seed", "evaluation_seed", "seed")
GUIDANCE_COLUMNS = ("sd_guidance_scale", "evaluation_guidance", "guidance_scale", "guidance")
WIDTH_COLUMNS = ("sd_image_width", "width")
HEIGHT_COLUMNS = ("sd_image_height", "height")
ID_COLUMNS = ("case_number", "id")


class ImportFormatError(DataIGMError):
    pass


def infer_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "i2p"
    if suffix == ".json":
        return "igmu"
    raise ImportFormatError(f"{path}: cannot tell the format from the extension {suffix!r}; "
                            f"pass --format {' or --format '.join(FORMATS)}")


def _first(row: dict[str, str], columns: Iterable[str]) -> tuple[str | None, str | None]:
    for col in columns:
        value = row.get(col)
        if value not in (None, ""):
            return col, value.strip()
    return None, None


def _number(path: Path, line: int, row: dict[str, str], columns: tuple[str, ...], cast: type):
    col, value = _first(row, columns)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ImportFormatError(f"{path} line {line}: {col} {value!r} is not a number") from None
    if cast is not int:
        return number
    if not number.is_integer():
        raise ImportFormatError(f"{path} line {line}: {col} {value!r} is not an integer")
    number = int(value) if value.lstrip("-").isdigit() else int(number)
    if col in SEED_COLUMNS and not 0 <= number <= MAX_SEED:
        raise ImportFormatError(f"{path} line {line}: {col} {value} is outside 0..2**64-1")
    if col not in SEED_COLUMNS and (not 8 <= number <= 4096 or number % 8):
        raise ImportFormatError(f"{path} line {line}: {col} {value} must be a multiple of 8 in 8..4096")
    return number


def _flag_duplicates(rows: list[dict[str, Any]]) -> None:
    first: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["role"], normalise(row["prompt"]))
        if key in first:
            row["duplicate_of"] = first[key]
        else:
            first[key] = row["id"]


def _row(name: str, index: int, prompt: str, role: str, subclass: str, source: str,
         source_id: str, pair_id: str, base_seed: int, seed: int | None = None,
         **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{name}-{index:06d}-{role}", "category": "imported", "concept": name,
        "subclass": subclass, "role": role, "kind": None, "pair_id": pair_id,
        "split": split_of(pair_id), "prompt": prompt, "label": 0 if role == "retain" else 1,
        "seeds": [seed if seed is not None else image_seed(base_seed, pair_id, 0)],
        "source": source, "source_id": source_id, "duplicate_of": None,
        "guidance_scale": None, "height": None, "width": None, "negative_prompt": None, **extra,
    }


def import_i2p(path: Path, name: str, base_seed: int = 0) -> list[dict[str, Any]]:
    """Rows from an I2P-style CSV: `prompt` is required; seeds, guidance and size are honoured."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: cannot read: {exc}") from None
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(text.splitlines(keepends=True), dialect=dialect, strict=True)
    if not reader.fieldnames or "prompt" not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "nothing"
        raise ImportFormatError(f"{path}: no 'prompt' column (header has: {found})")
    rows = []
    try:
        for index, raw in enumerate(reader):
            line = reader.line_num
            if None in raw:
                raise ImportFormatError(f"{path} line {line}: more fields than the header has")
            prompt = (raw.get("prompt") or "").strip()
            if not prompt:
                raise ImportFormatError(f"{path} line {line}: empty prompt")
            _, source_id = _first(raw, ID_COLUMNS)
            categories = (raw.get("categories") or "").strip()
            pair_id = f"{name}-{index:06d}"
            rows.append(_row(
                name, index, prompt, "forget", categories.split(",")[0].strip() or "none",
                f"i2p:{path.name}", source_id or str(index), pair_id, base_seed,
                seed=_number(path, line, raw, SEED_COLUMNS, int),
                guidance_scale=_number(path, line, raw, GUIDANCE_COLUMNS, float),
                width=_number(path, line, raw, WIDTH_COLUMNS, int),
                height=_number(path, line, raw, HEIGHT_COLUMNS, int)))
    except csv.Error as exc:
        raise ImportFormatError(f"{path} line {reader.line_num}: malformed CSV: {exc}") from None
    if not rows:
        raise ImportFormatError(f"{path}: no prompt rows")
    _flag_duplicates(rows)
    return rows


def _load_igmu(path: Path) -> dict[str, dict[str, list[str]]]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ImportFormatError(f"{path}: expected an object concept -> subclass -> [prompts]")
    for concept, subs in data.items():
        if not isinstance(subs, dict):
            raise ImportFormatError(f"{path}: key {concept!r}: expected an object subclass -> [prompts]")
        for sub, prompts in subs.items():
            if not isinstance(prompts, list) or not all(isinstance(p, str) and p.strip() for p in prompts):
                raise ImportFormatError(f"{path}: key {concept}.{sub}: expected a list of non-empty strings")
    return data


def import_igmu(path: Path, name: str, retain: Path | None = None, base_seed: int = 0) -> list[dict[str, Any]]:
    """Rows from IGMU JSON; with `retain`, forget[i] and retain[i] of a subclass form a pair."""
    forget = _load_igmu(path)
    twins = _load_igmu(retain) if retain else {}
    rows: list[dict[str, Any]] = []
    index = 0
    for concept, subs in forget.items():
        for sub, prompts in subs.items():
            paired = twins.get(concept, {}).get(sub) if retain else None
            if retain and paired is None:
                raise ImportFormatError(f"{retain}: key {concept}.{sub} is missing (present in {path})")
            if paired is not None and len(paired) != len(prompts):
                raise ImportFormatError(f"{retain}: key {concept}.{sub} has {len(paired)} prompts, "
                                        f"{path} has {len(prompts)}; the lists pair up by position")
            for i, prompt in enumerate(prompts):
                pair_id = f"{name}-{index:06d}"
                common = {"name": name, "subclass": f"{concept}/{sub}", "pair_id": pair_id,
                          "base_seed": base_seed}
                rows.append(_row(index=index, prompt=prompt.strip(), role="forget",
                                 source=f"igmu:{path.name}", source_id=f"{concept}/{sub}/{i}", **common))
                if paired is not None:
                    rows.append(_row(index=index, prompt=paired[i].strip(), role="retain",
                                     source=f"igmu:{retain.name}", source_id=f"{concept}/{sub}/{i}",
                                     **common))
                index += 1
    if not rows:
        raise ImportFormatError(f"{path}: no prompts")
    _flag_duplicates(rows)
    return rows


def import_prompts(path: Path, fmt: str | None = None, name: str | None = None,
                   retain: Path | None = None, base_seed: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """(config base name, rows) for a prompt file in one of FORMATS (inferred when not given)."""
    if not path.exists():
        raise ImportFormatError(f"{path}: no such file")
    fmt = fmt or infer_format(path)
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    name = name or path.stem.lower().replace(" ", "_")
    if fmt == "i2p":
        if retain:
            raise ImportFormatError("--retain applies to the igmu format only")
        return name, import_i2p(path, name, base_seed)
    return name, import_igmu(path, name, retain, base_seed)
