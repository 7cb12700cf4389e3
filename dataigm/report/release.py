"""The release section: counts by config, role, split and status; drop reasons; score histograms
per check with thresholds; forget/retain pairs side by side and robustness rows by kind (a
deterministic sample); generation settings and provenance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dataigm.core import layout
from dataigm.core.curation import PRESENCE
from dataigm.core.ids import bucket
from dataigm.report import plots
from dataigm.report.model import Gallery, Item, Picture, Section, Table, fmt
from dataigm.report.thumbs import Thumbnails

COLUMNS = ["id", "concept", "category", "role", "kind", "split", "status", "pair_status", "reason_codes",
           "verdicts", "seed", "pair_id", "image_index", "subclass", "prompt"]


def _rows(folder: Path, config: str) -> list[dict[str, Any]]:
    from dataigm.core.storage import Store

    store, rows = Store(str(folder)), []
    for shard in store.glob(layout.config_shards(config)):  # an unreadable shard is one line naming it
        names = store.parquet_file(shard).schema_arrow.names
        rows.extend(store.read_table(shard, columns=[c for c in COLUMNS if c in names]).to_pylist())
    return rows


def _images(folder: Path, config: str, ids: set[str]) -> dict[str, bytes]:
    from dataigm.core.storage import images_by_id, row_groups

    shards = sorted(folder.glob(layout.config_shards(config)))
    return images_by_id((t for shard in shards for t in row_groups(str(shard), ["id", "image"])), ids)


def _score(row: dict[str, Any], check: str) -> str:
    found = [v for v in row.get("verdicts") or [] if v["check"] == check]
    return f"{check} {found[0]['score']:.3f} ({found[0]['name']})" if found else ""


def release_section(folder: Path, source: str, thumbs: Thumbnails,
                    configs: list[str] | None = None) -> tuple[Section, list[str]]:
    """The report section of one release folder (or downloaded Hub release), and the names of the
    release's image configs (`configs` picks among them)."""
    from dataigm.core import manifest as manifests
    from dataigm.core.storage import Store

    manifest = manifests.read(Store(str(folder)))
    images = [n for n, c in manifest["configs"].items() if c.get("kind") == "images"]
    names = [n for n in images if not configs or n in configs]
    section = Section("release", f"Release: {source}")
    rows_by_config = {name: _rows(folder, name) for name in names}
    total = sum(len(r) for r in rows_by_config.values())

    table = []
    for name in names:
        rows, info = rows_by_config[name], manifest["configs"][name]
        roles = Counter(r["role"] for r in rows)
        status = Counter(r["status"] for r in rows)
        table.append([name, info.get("category", ""), str(len(rows)), str(info["splits"].get("train", 0)),
                      str(info["splits"].get("test", 0)), str(status.get("ok", 0)), str(status.get("dropped", 0)),
                      str((info.get("pairs") or {}).get("broken", 0)),
                      ", ".join(f"{k} {v}" for k, v in sorted(roles.items()))])
    section.tables.append(Table("Image configs", ["config", "category", "rows", "train", "test", "ok", "dropped",
                                                  "broken pairs", "roles"], table))

    codes = Counter(code for rows in rows_by_config.values() for r in rows for code in r.get("reason_codes") or [])
    if codes:
        top = codes.most_common(15)
        section.figures.append(plots.bars("drop_reasons", "Why rows were dropped (reason codes)", [c for c, _ in top],
                                          [n for _, n in top], "rows"))
    scores: dict[str, list[float]] = {}
    thresholds: dict[str, Counter] = {}
    for rows in rows_by_config.values():
        for r in rows:
            for v in r.get("verdicts") or []:
                key = f"{v['check']} ({v['name']})"
                scores.setdefault(key, []).append(v["score"])
                thresholds.setdefault(key, Counter())[v["threshold"]] += 1
    if scores:
        groups = {k: (np.asarray(s), _shared_threshold(thresholds[k])) for k, s in sorted(scores.items())}
        section.figures.append(plots.histograms("detector_scores", "Detector scores (dashed: threshold; none where "
                                                "each image has its own bar)", groups))

    _galleries(section, folder, rows_by_config, thumbs)
    shown = sum(len(i.pictures) for g in section.galleries for i in g.items)
    section.notes.append(f"{len(names)} image configs, {total} rows; the galleries show {shown} images of {total} "
                         "(a deterministic sample: the same rows on every run).")
    section.tables.append(_provenance(manifest, rows_by_config))
    return section, images


def _galleries(section: Section, folder: Path, rows_by_config: dict[str, list[dict[str, Any]]],
               thumbs: Thumbnails) -> None:
    pairs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    robust: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for config, rows in rows_by_config.items():
        by_key: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        for r in rows:
            if r["role"] in ("forget", "retain"):
                by_key.setdefault((r["pair_id"], r["image_index"]), {})[r["role"]] = r
            elif r["role"] == "robustness":
                robust.setdefault(r.get("kind") or "?", []).append((config, r))
        pairs.extend((config, m["forget"], m["retain"]) for m in by_key.values() if len(m) == 2)
    pairs.sort(key=lambda p: bucket(f"{p[1]['pair_id']}:{p[1]['image_index']}", 10**9))
    budget = thumbs.room()
    chosen_pairs = pairs[: max(0, budget * 2 // 3) // 2]
    per_kind = max(1, (budget - 2 * len(chosen_pairs)) // max(len(robust), 1))
    chosen_robust = {k: sorted(v, key=lambda x: bucket(x[1]["id"], 10**9))[:per_kind]
                     for k, v in sorted(robust.items())}
    wanted: dict[str, set[str]] = {}
    for config, f, r in chosen_pairs:
        wanted.setdefault(config, set()).update((f["id"], r["id"]))
    for items in chosen_robust.values():
        for config, r in items:
            wanted.setdefault(config, set()).add(r["id"])
    for config, ids in wanted.items():
        for row_id, data in _images(folder, config, ids).items():
            thumbs.add(row_id, data)
    section.galleries.append(Gallery("Forget / retain pairs (same seed, same scene, with and without the concept)", [
        Item([Picture(f["id"], "forget", f["seed"]), Picture(r["id"], "retain", r["seed"])],
             [f"{config} · seed {f['seed']} · pair {f['pair_status']}", f"forget: {f['prompt']} [{f['status']}] "
              f"{_score(f, PRESENCE)}", f"retain: {r['prompt']} [{r['status']}] {_score(r, PRESENCE)}"], "pair")
        for config, f, r in chosen_pairs]))
    for kind, items in chosen_robust.items():
        section.galleries.append(Gallery(f"Robustness: {kind}", [
            Item([Picture(r["id"], kind, r["seed"])], [f"{config} · seed {r['seed']}", r["prompt"],
                                                       f"[{r['status']}] {_score(r, PRESENCE)}"])
            for config, r in items]))


def _provenance(manifest: dict[str, Any], rows_by_config: dict[str, list[dict[str, Any]]]) -> Table:
    build = manifest.get("build") or {}
    settings = build.get("settings") or {}
    inputs = build.get("inputs") or {}
    rows = [["fingerprint", fmt(manifest.get("fingerprint"))], ["schema version", fmt(manifest.get("schema_version"))],
            ["model", fmt(build.get("model_label") or settings.get("model"))],
            ["model revision (pinned)", fmt(inputs.get("model"))]]
    rows += [[k.replace("_", " "), fmt(settings.get(k))] for k in ("scheduler", "steps", "guidance", "height", "width",
                                                                 "dtype", "batch_size", "base_seed", "safety_checker")]
    rows += [[f"input {k}", v] for k, v in sorted(inputs.items()) if k != "model"]
    return Table("Generation settings and provenance", ["setting", "value"], rows)


def _shared_threshold(counts: Counter) -> float | None:
    """The threshold most of a check's verdicts share; None when the bar differs per image (a category
    judge deciding by its most probable label)."""
    value, n = counts.most_common(1)[0]
    return value if n * 2 > sum(counts.values()) else None
