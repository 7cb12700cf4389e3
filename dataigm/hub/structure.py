"""Whether a release folder is consistent: the README's `configs:`, the manifest, the shards on
disk, their row counts, their embedded schema and the nsfw status the taxonomy gives each config.
`publish` refuses on the first problem; `verify` reports them all."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError


def read_release(folder: Path) -> dict[str, Any]:
    """The manifest of a packed release folder (read-only: a pack interrupted mid-commit is refused
    here; the commands complete it first), which must also have its dataset card."""
    from dataigm.core import manifest
    from dataigm.core.storage import Store

    release = manifest.read(Store(str(folder)))
    if not (folder / layout.CARD).exists():
        raise DataIGMError(f"{folder} is not a packed release (no {layout.CARD}); run dataigm build or pack")
    return release


def _concept(name: str, info: dict[str, Any]):
    from dataigm.core.taxonomy import IMPORTED, imported_set, load_taxonomy

    if info.get("category") == IMPORTED:
        return imported_set(name, bool(info.get("nsfw")), info.get("attacks"))
    return load_taxonomy().concepts.get(name)


def expected_features(name: str, info: dict[str, Any]):
    """The datasets.Features a config of this release must carry (None: unknown config)."""
    from dataigm.core.schema import image_features, prompt_features
    from dataigm.core.taxonomy import IMPORTED

    if info.get("kind") == "images":
        concept = _concept(name, info)
        return image_features(concept) if concept else None
    if info.get("kind") == "prompts" and name.endswith("-prompts"):
        concept = _concept(name.removesuffix("-prompts"), info)
        if concept is None:
            return None
        return prompt_features(None if concept.category == IMPORTED else concept.label_names)
    return None


def _features(meta: dict[bytes, bytes]):
    """The datasets.Features a shard embeds (None: none embedded); malformed ones raise ValueError."""
    from datasets import Features

    if b"huggingface" not in meta:
        return None
    try:
        return Features.from_dict(json.loads(meta[b"huggingface"])["info"]["features"])
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(f"{type(exc).__name__}: {text[:100]}{'...' if len(text) > 100 else ''}") from None


# Manifest build settings -> the image column that records them (per row).
SETTING_COLUMNS = {"steps": "num_inference_steps", "guidance": "guidance_scale", "height": "height",
                   "width": "width", "dtype": "dtype", "batch_size": "batch_size", "scheduler": "scheduler",
                   "negative_prompt": "negative_prompt", "safety_checker": "safety_checker"}
PER_ROW_SETTINGS = ("guidance", "height", "width", "negative_prompt")  # an imported row may carry its own


def _same(values: set, expected: Any) -> bool:
    """Whether every recorded value is `expected` (floats as stored in float32 columns: 0.45 is
    0.44999998807907104 there)."""
    import math

    if isinstance(expected, float) and not isinstance(expected, bool):
        return all(isinstance(v, (int, float)) and math.isclose(v, expected, rel_tol=1e-6, abs_tol=1e-9)
                   for v in values)
    return values == {expected}


def _expected_setting(key: str, value: Any) -> Any:
    """What a row records for a build setting (None: the row records a resolved value that the
    setting does not decide alone, e.g. dtype auto, the default scheduler)."""
    from dataigm.core.settings import SCHEDULERS

    if key == "dtype" and value == "auto":
        return None
    if key == "scheduler":
        return SCHEDULERS.get(value) if value != "default" else None
    return value


def _summary(shards: list[Path]) -> dict[str, Any]:
    """Everything an image config's manifest entry says that its shards' rows can tell again."""
    import pyarrow.parquet as pq

    status: Counter = Counter()
    pairs: Counter = Counter()
    drops: Counter = Counter()
    seen: dict[str, set] = {"category": set(), "model_revision": set(), **{c: set() for c in SETTING_COLUMNS.values()}}
    checks: dict[str, dict[str, set]] = {}
    for shard in shards:
        pf = pq.ParquetFile(shard)
        names = pf.schema_arrow.names
        columns = [c for c in ("status", "pair_status", "reason_codes", "verdicts", *seen) if c in names]
        for group in range(pf.num_row_groups):
            for row in pf.read_row_group(group, columns=columns).to_pylist():
                status[row.get("status")] += 1
                pairs[row.get("pair_status")] += 1
                drops.update(row.get("reason_codes") or ())
                for column in seen:
                    if column in row:
                        seen[column].add(row[column])
                for v in row.get("verdicts") or ():
                    found = checks.setdefault(v.get("check"), {"version": set(), "threshold": set()})
                    found["version"].add(v.get("version"))
                    found["threshold"].add(v.get("threshold"))
    return {"status": dict(status), "pairs": dict(pairs), "drop_reasons": dict(drops), "seen": seen, "checks": checks}


def recomputed_problems(name: str, info: dict[str, Any], build: dict[str, Any] | None,
                        shards: list[Path]) -> list[str]:
    """Every field of an image config's manifest entry (and of the build settings its rows
    record) that disagrees with what its shards' rows say, one line each."""
    from dataigm.core.taxonomy import IMPORTED

    found = _summary(shards)
    problems = []
    for key in ("status", "pairs", "drop_reasons"):
        if found[key] != {k: v for k, v in (info.get(key) or {}).items() if v}:
            problems.append(f"config {name}: the manifest says {key} {info.get(key)}, the shards hold {found[key]}")
    seen = found["seen"]
    if seen["category"] and seen["category"] != {info.get("category")}:
        problems.append(f"config {name}: the manifest says category {info.get('category')!r}, the rows say "
                        f"{sorted(map(str, seen['category']))}")
    listed = {c.get("key"): c for c in info.get("checks") or () if isinstance(c, dict)}
    if found["checks"] and set(found["checks"]) != set(listed):
        problems.append(f"config {name}: the manifest lists checks {sorted(map(str, listed))}, the rows carry verdicts "
                        f"of {sorted(map(str, found['checks']))}")
    for key in sorted(set(found["checks"]) & set(listed)):
        made = found["checks"][key]
        if made["version"] != {listed[key].get("version")}:
            problems.append(f"config {name}: check {key}: the manifest says version {listed[key].get('version')!r}, "
                            f"the verdicts say {sorted(map(str, made['version']))}")
        # one threshold for every verdict: a threshold check (a category judge records a bar per image)
        if len(made["threshold"]) == 1 and not _same(made["threshold"], listed[key].get("threshold")):
            problems.append(f"config {name}: check {key}: the manifest says threshold {listed[key].get('threshold')}, "
                            f"the verdicts say {made['threshold'].pop()}")
    settings = (build or {}).get("settings") or {}
    for key, column in SETTING_COLUMNS.items():
        if key not in settings or not seen[column] or (info.get("category") == IMPORTED and key in PER_ROW_SETTINGS):
            continue
        expected = _expected_setting(key, settings[key])
        if expected is not None and not _same(seen[column], expected):
            problems.append(f"config {name}: the manifest's build says {key} {settings[key]!r}, the rows say "
                            f"{', '.join(sorted(map(repr, seen[column])))}")
    pinned = ((build or {}).get("inputs") or {}).get("model")
    if pinned and seen["model_revision"] and seen["model_revision"] != {pinned}:
        problems.append(f"config {name}: the manifest's build pins model {pinned}, the rows say "
                        f"{sorted(map(str, seen['model_revision']))}")
    return problems


def build_problems(manifest: dict[str, Any]) -> list[str]:
    """Whether the manifest's build settings still hash to the fingerprint recorded with them."""
    from dataigm.core.errors import DataIGMError
    from dataigm.core.plan import BuildConfig

    build = manifest.get("build")
    if not build:
        return []
    if not isinstance(build, dict):
        return [f"{layout.MANIFEST}: unreadable build settings (not an object)"]
    try:
        again = BuildConfig.from_json(build).fingerprint()
    except (DataIGMError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"{layout.MANIFEST}: unreadable build settings ({str(exc).splitlines()[0]})"]
    recorded = {manifest.get("fingerprint"), build.get("fingerprint")}
    if recorded != {again}:
        return [f"{layout.MANIFEST}: the build settings hash to fingerprint {again}, the manifest records "
                f"{' and '.join(sorted(map(str, recorded)))} (edited settings?)"]
    return []


def structure_problems(folder: Path, manifest: dict[str, Any] | None = None,
                       unusable: set[Path] | None = None) -> list[str]:
    """Every inconsistency between README configs, manifest (read here unless given), shards, row
    counts, schema, nsfw, and every manifest field the shards' rows can tell again (status, pairs,
    drop reasons, check versions and thresholds, build settings, category). Shards that cannot be
    read, or carry another schema, are named and added to `unusable` (later checks skip them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml
    from huggingface_hub import DatasetCard

    manifest = manifest or read_release(folder)
    unusable = set() if unusable is None else unusable
    problems: list[str] = []
    try:
        card = DatasetCard.load(folder / layout.CARD).data.to_dict()
    except (ValueError, TypeError, yaml.YAMLError) as exc:
        return [f"{folder}/{layout.CARD}: unreadable card YAML ({str(exc).splitlines()[0]})"]
    listed = {c["config_name"]: c for c in card.get("configs", []) if isinstance(c, dict) and "config_name" in c}
    on_disk = {p.parent.name for p in folder.glob(layout.ALL_SHARDS)}
    if set(listed) != on_disk:
        problems.append(f"README configs and shards differ: only in README {sorted(set(listed) - on_disk)}, "
                        f"only on disk {sorted(on_disk - set(listed))}")
    if set(manifest["configs"]) != on_disk:
        problems.append(f"manifest configs and shards differ: only in the manifest "
                        f"{sorted(set(manifest['configs']) - on_disk)}, only on disk "
                        f"{sorted(on_disk - set(manifest['configs']))}")
    for name in sorted(on_disk & set(listed)):
        for data_file in listed[name].get("data_files", []):
            if not isinstance(data_file, dict) or not list(folder.glob(str(data_file.get("path", "")))):
                problems.append(f"config {name} lists {data_file} but no shard matches")
        info = manifest["configs"].get(name, {})
        if not isinstance(info, dict):
            problems.append(f"config {name}: the manifest's entry is not an object")
            continue
        expected = expected_features(name, info)
        if expected is None:
            problems.append(f"config {name}: not a known config of the manifest")
            continue
        concept = _concept(name.removesuffix("-prompts"), info)
        if concept is not None and bool(info.get("nsfw")) != concept.nsfw:
            problems.append(f"config {name}: the manifest says nsfw={info.get('nsfw')}, the taxonomy says "
                            f"{concept.nsfw} (gating follows the taxonomy)")
        counts: dict[str, int] = {}
        shards = sorted(folder.glob(layout.config_shards(name)))
        good = []
        for shard in shards:
            try:
                pf = pq.ParquetFile(shard)
                features = _features(pf.schema_arrow.metadata or {})
            except (OSError, pa.ArrowException) as exc:
                problems.append(f"{shard}: unreadable parquet ({str(exc).splitlines()[0]})")
                unusable.add(shard)
                continue
            except ValueError as exc:
                problems.append(f"{shard}: malformed embedded datasets.Features ({exc})")
                unusable.add(shard)
                continue
            if features is None:
                problems.append(f"{shard}: no embedded datasets.Features")
                unusable.add(shard)
            elif features != expected or pf.schema_arrow.names != list(expected):
                problems.append(f"{shard}: its features do not match the schema of config {name}")
                unusable.add(shard)
            else:
                good.append(shard)
            split = layout.split_of(shard.name)
            counts[split] = counts.get(split, 0) + pf.metadata.num_rows
        declared = {k: v for k, v in (info.get("splits") or {}).items() if v}
        if counts != declared:
            problems.append(f"config {name}: shards hold {counts} rows, the manifest says {declared}")
        if info.get("kind") == "images" and good and len(good) == len(shards):  # every row readable
            build = manifest.get("build") if isinstance(manifest.get("build"), dict) else None
            problems += recomputed_problems(name, info, build, good)
    return problems + build_problems(manifest)
