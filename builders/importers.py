"""Importers for prompt sets users already have. Every source row is kept, with its source and row
id; duplicates and near-twins are flagged, never dropped.

- i2p: the I2P CSV and its derivatives (`prompt`; seeds, guidance and size honoured);
- igmu: the IGMU JSON pair (concept -> subclass -> prompts). Subclasses present in both files pair
  up by position (forget/retain twins); subclasses only in the retain file are the other classes
  an object task retains: they become `unrelated` rows. A twin that is not the forget prompt minus
  some words is kept and flagged `near_twin` (the published files have a few typo pairs);
- unlearndiffatk: UnlearnDiffAtk's CSVs (`case_number, prompt, evaluation_seed,
  evaluation_guidance`, optional `artist` or `categories`);
- ring-a-bell: Ring-A-Bell's CSVs (`sensitive prompt` or `prompt`);
- mma-diffusion: MMA-Diffusion's CSVs (`target_prompt, adv_prompt, clean_prompt`): the target is
  the forget row, the clean prompt its retain twin, the adversarial prompt a robustness row.
Rows of the attack sets are `robustness` rows of kind `adversarial`, tagged with `attack` (the set)
and, through the import record, the concept they attack (given, or inferred from the columns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from builders.grammar import normalise
from dataigm.core.errors import DataIGMError
from dataigm.core.ids import MAX_SEED, image_seed, split_of
from dataigm.core.inputs import number, read_csv, read_json
from dataigm.core.settings import GUIDANCE_RANGE

FORMATS = ("i2p", "igmu", "unlearndiffatk", "ring-a-bell", "mma-diffusion")
ATTACKS = ("unlearndiffatk", "ring-a-bell", "mma-diffusion")
# Column aliases: the I2P CSV as published, then the names its derivatives use.
SEED_COLUMNS = ("sd_seed", "evaluation_seed", "seed")
GUIDANCE_COLUMNS = ("sd_guidance_scale", "evaluation_guidance", "guidance_scale", "guidance")
WIDTH_COLUMNS = ("sd_image_width", "width")
HEIGHT_COLUMNS = ("sd_image_height", "height")
ID_COLUMNS = ("case_number", "id")
PROMPT_COLUMNS = ("prompt", "sensitive prompt", "sensitive_prompt")


# IGMU's nudity subclasses that dataigm names by the adults they describe (taxonomy.yaml).
SUBCLASS_RENAMES = {"girl": "woman_25_39", "boy": "man_25_39"}


class ImportFormatError(DataIGMError):
    """A peer prompt file that does not have the format it claims (one line, naming the file)."""


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The file through dataigm's one CSV reader (rows split on row separators only, duplicate
    columns refused)."""
    try:
        return read_csv(path)
    except DataIGMError as exc:
        raise ImportFormatError(str(exc)) from None


def infer_format(path: Path) -> str:
    """The format of a prompt file, from its extension and (for CSV) its header."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "igmu"
    if suffix not in (".csv", ".tsv"):
        raise ImportFormatError(f"{path}: cannot tell the format from the extension {suffix!r}; "
                                f"pass --format (one of {', '.join(FORMATS)})")
    header, _ = _read_csv(path)
    if "adv_prompt" in header:
        return "mma-diffusion"
    if "sensitive prompt" in header or "sensitive_prompt" in header or "ring" in path.stem.lower():
        return "ring-a-bell"
    if "evaluation_seed" in header:
        return "unlearndiffatk"
    return "i2p"


def _first(row: dict[str, str], columns: Iterable[str]) -> tuple[str | None, str | None]:
    for col in columns:
        value = row.get(col)
        if value not in (None, ""):
            return col, value.strip()
    return None, None


def _number(path: Path, line: int, row: dict[str, str], columns: tuple[str, ...], cast: type):
    """A seed, guidance scale or image size cell: finite and in range, or refused naming the line."""
    col, value = _first(row, columns)
    if value is None:
        return None
    where = f"{path} line {line}: {col}"
    try:
        if cast is not int:
            return number(value, where, *GUIDANCE_RANGE)
        if col in SEED_COLUMNS:
            return number(value, where, 0, MAX_SEED, integer=True, shown="0..2**64-1")
        size = number(value, where, 8, 4096, integer=True)
    except DataIGMError as exc:
        raise ImportFormatError(str(exc)) from None
    if size % 8:
        raise ImportFormatError(f"{where} {value} must be a multiple of 8 in 8..4096")
    return size


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
         kind: str | None = None, attack: str | None = None, **extra: Any) -> dict[str, Any]:
    suffix = f"{role}-{kind}" if kind else role
    return {
        "id": f"{name}-{index:06d}-{suffix}", "category": "imported", "concept": name,
        "subclass": subclass, "role": role, "kind": kind, "pair_id": pair_id,
        "split": split_of(pair_id), "prompt": prompt, "label": 0 if role in ("retain", "unrelated") else 1,
        "seeds": [seed if seed is not None else image_seed(base_seed, pair_id, 0)],
        "source": source, "source_id": source_id, "duplicate_of": None, "attack": attack, "flags": [],
        "guidance_scale": None, "height": None, "width": None, "negative_prompt": None, **extra,
    }


def _settings(path: Path, line: int, raw: dict[str, str]) -> dict[str, Any]:
    return {"seed": _number(path, line, raw, SEED_COLUMNS, int),
            "guidance_scale": _number(path, line, raw, GUIDANCE_COLUMNS, float),
            "width": _number(path, line, raw, WIDTH_COLUMNS, int),
            "height": _number(path, line, raw, HEIGHT_COLUMNS, int)}


def import_csv(path: Path, name: str, fmt: str, base_seed: int = 0) -> list[dict[str, Any]]:
    """Rows from an I2P-style or attack CSV: one prompt column; seeds, guidance and size honoured."""
    header, raw_rows = _read_csv(path)
    column = next((c for c in PROMPT_COLUMNS if c in header), None)
    if column is None:
        raise ImportFormatError(f"{path}: no 'prompt' column (header has: {', '.join(header) or 'nothing'})")
    attack = fmt if fmt in ATTACKS else None
    rows = []
    for index, (line, raw) in enumerate(raw_rows):
        prompt = (raw.get(column) or "").strip()
        if not prompt:
            raise ImportFormatError(f"{path} line {line}: empty prompt")
        _, source_id = _first(raw, ID_COLUMNS)
        categories = (raw.get("categories") or "").strip()
        subclass = categories.split(",")[0].strip() or (raw.get("artist") or "").strip() or "none"
        rows.append(_row(name, index, prompt, "robustness" if attack else "forget", subclass, f"{fmt}:{path.name}",
                         source_id or str(index), f"{name}-{index:06d}", base_seed,
                         kind="adversarial" if attack else None, attack=attack, **_settings(path, line, raw)))
    if not rows:
        raise ImportFormatError(f"{path}: no prompt rows")
    _flag_duplicates(rows)
    return rows


def import_mma(path: Path, name: str, base_seed: int = 0) -> list[dict[str, Any]]:
    """MMA-Diffusion: target (forget), clean (retain twin) and adversarial prompt of each row, one seed."""
    header, raw_rows = _read_csv(path)
    missing = [c for c in ("target_prompt", "adv_prompt") if c not in header]
    if missing:
        raise ImportFormatError(f"{path}: MMA-Diffusion needs columns {missing} (header has: {', '.join(header)})")
    rows = []
    for index, (line, raw) in enumerate(raw_rows):
        pair_id = f"{name}-{index:06d}"
        settings = _settings(path, line, raw)
        for role, column, kind in (("forget", "target_prompt", None), ("retain", "clean_prompt", None),
                                   ("robustness", "adv_prompt", "adversarial")):
            prompt = (raw.get(column) or "").strip()
            if not prompt:
                if column == "clean_prompt":
                    continue
                raise ImportFormatError(f"{path} line {line}: empty {column}")
            rows.append(_row(name, index, prompt, role, "none", f"mma-diffusion:{path.name}", str(index), pair_id,
                             base_seed, kind=kind, attack="mma-diffusion", **settings))
    if not rows:
        raise ImportFormatError(f"{path}: no prompt rows")
    _flag_duplicates(rows)
    return rows


def _load_igmu(path: Path) -> dict[str, dict[str, list[str]]]:
    try:
        data = read_json(path)
    except DataIGMError as exc:
        raise ImportFormatError(str(exc)) from None
    if not isinstance(data, dict):
        raise ImportFormatError(f"{path}: expected an object concept -> subclass -> [prompts]")
    for concept, subs in data.items():
        if not isinstance(subs, dict):
            raise ImportFormatError(f"{path}: key {concept!r}: expected an object subclass -> [prompts]")
        for sub, prompts in subs.items():
            if not isinstance(prompts, list) or not all(isinstance(p, str) and p.strip() for p in prompts):
                raise ImportFormatError(f"{path}: key {concept}.{sub}: expected a list of non-empty strings")
    return data


def is_twin(forget: str, retain: str) -> bool:
    """Whether `retain` is `forget` with some words removed (what a retain twin should be)."""
    words = iter(normalise(forget).split())
    return all(word in words for word in normalise(retain).split())


def import_igmu(path: Path, name: str, retain: Path | None = None, base_seed: int = 0) -> list[dict[str, Any]]:
    forget = _load_igmu(path)
    others = _load_igmu(retain) if retain else {}
    if retain and not set(forget) & set(others):
        raise ImportFormatError(f"{retain}: shares no concept key with {path} ({', '.join(forget)})")
    rows: list[dict[str, Any]] = []
    index = 0
    for concept, subs in forget.items():
        kept = others.get(concept, {})
        for sub, prompts in subs.items():
            paired = kept.get(sub)
            if paired is not None and len(paired) != len(prompts):
                raise ImportFormatError(f"{retain}: key {concept}.{sub} has {len(paired)} prompts, "
                                        f"{path} has {len(prompts)}; the lists pair up by position")
            for i, prompt in enumerate(prompts):
                pair_id = f"{name}-{index:06d}"
                common = {"name": name, "subclass": f"{concept}/{SUBCLASS_RENAMES.get(sub, sub)}", "pair_id": pair_id,
                          "base_seed": base_seed, "source_id": f"{concept}/{sub}/{i}"}
                rows.append(_row(index=index, prompt=prompt.strip(), role="forget", source=f"igmu:{path.name}",
                                 **common))
                if paired is not None:
                    twin = _row(index=index, prompt=paired[i].strip(), role="retain", source=f"igmu:{retain.name}",
                                **common)
                    if not is_twin(prompt, paired[i]):
                        twin["flags"] = ["near_twin"]
                    rows.append(twin)
                index += 1
        for sub, prompts in kept.items():  # the classes an object task retains: unrelated rows
            if sub in subs:
                continue
            for i, prompt in enumerate(prompts):
                pair_id = f"{name}-{index:06d}"
                rows.append(_row(name, index, prompt.strip(), "unrelated", f"{concept}/{sub}",
                                 f"igmu:{retain.name}", f"{concept}/{sub}/{i}", pair_id, base_seed))
                index += 1
    if not rows:
        raise ImportFormatError(f"{path}: no prompts")
    _flag_duplicates(rows)
    return rows


def igmu_subclass_order(path: Path, retain: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """IGMU's subclass order as published, empty subclasses included and names not mapped:
    {"forgot": {concept: [subclass, ...]}, "retain": {...}}. IGMU names its images i_j_k by a
    subclass's position i in these lists, which the rows alone cannot tell where a subclass has no
    prompts (and so no row)."""
    return {"forgot": {concept: list(subs) for concept, subs in _load_igmu(path).items()},
            "retain": {concept: list(subs) for concept, subs in _load_igmu(retain).items()} if retain else {}}


def attacked_concept(rows: list[dict[str, Any]], concepts: dict[str, Any]) -> str | None:
    """The taxonomy concept an attack set targets, from its `artist`/`categories` columns."""
    def key(text: str) -> str:
        return re.sub(r"[^a-z]", "", text.lower())

    by_name = {key(c.name): c.name for c in concepts.values()} | {
        key(c.display_name): c.name for c in concepts.values()}
    by_i2p = {c.id_map.get("i2p"): c.name for c in concepts.values() if c.id_map.get("i2p")}
    found = {by_name.get(key(r["subclass"])) or by_i2p.get(r["subclass"]) for r in rows} - {None}
    return found.pop() if len(found) == 1 else None


def import_prompts(path: Path, fmt: str | None = None, name: str | None = None,
                   retain: Path | None = None, base_seed: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """(config base name, rows) for a prompt file in one of FORMATS (inferred when not given)."""
    if not path.exists():
        raise ImportFormatError(f"{path}: no such file")
    fmt = fmt or infer_format(path)
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    name = name or re.sub(r"[^a-z0-9_-]+", "_", path.stem.lower()).strip("_")
    if retain and fmt != "igmu":
        raise ImportFormatError("--retain applies to the igmu format only")
    if fmt == "igmu":
        return name, import_igmu(path, name, retain, base_seed)
    if fmt == "mma-diffusion":
        return name, import_mma(path, name, base_seed)
    return name, import_csv(path, name, fmt, base_seed)
