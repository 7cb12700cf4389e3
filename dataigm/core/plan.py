"""The build plan and the completion markers of its shards.

The plan is written once to `layout.PLAN` in the release folder; every rank of every engine reads it, so the
rank -> shard mapping, the model revision and every row's seed are decided here and nowhere else.
A shard file is written to a temporary name, renamed, and only then marked complete: the marker
holds its row count, byte size and sha256, so a truncated or swapped shard is not taken as done.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from dataigm.core.curation import CurationOptions
from dataigm.core.errors import DataIGMError, UnknownNameError
from dataigm.core.ids import config_hash
from dataigm.core.layout import PLAN, images_shard, marker_of, verdicts_shard
from dataigm.core.settings import GenerationSettings
from dataigm.core.storage import Store

PRESETS = ("smoke", "full")
SMOKE_MODEL_LABEL = "dataigm/tiny-random-sd"
SMOKE_CLIP_LABEL = "dataigm/tiny-random-clip"


@dataclass
class BuildConfig:
    out: str
    preset: str = "full"
    concepts: list[str] = field(default_factory=list)
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    images_per_prompt: int | None = None  # None: the taxonomy's value per concept
    prompt_count: int | None = None  # forget prompts per concept (None: the recipe's size)
    image_limit: int | None = None  # pairs per subclass and kind that get images (None: all)
    shard_size: int = 256  # images per shard
    model_label: str | None = None
    curation: CurationOptions = field(default_factory=CurationOptions)
    # Digests of everything else that decides rows: taxonomy and recipe bytes, dataigm version,
    # resolved model weights. Filled by the prepare stage.
    inputs: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Hash of everything that decides the rows' content (not which concepts, not engines)."""
        settings = self.settings.pixel_settings() | {"model": self.model_label or self.settings.model}
        return config_hash({
            "settings": settings, "images_per_prompt": self.images_per_prompt, "prompt_count": self.prompt_count,
            "image_limit": self.image_limit, "shard_size": self.shard_size, "inputs": self.inputs})

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["curation"] = self.curation.as_json()
        d["fingerprint"] = self.fingerprint()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BuildConfig:
        d = {k: v for k, v in d.items() if k != "fingerprint"}
        d["settings"] = GenerationSettings(**d["settings"])
        d["curation"] = CurationOptions.from_json(d.get("curation", {}))
        return cls(**d)


def preset_config(preset: str, out: str, **overrides: Any) -> BuildConfig:
    """A BuildConfig from a preset plus the CLI's overrides (None values are ignored)."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    settings_over = {k: v for k, v in overrides.pop("settings", {}).items() if v is not None}
    if preset == "smoke":
        base = GenerationSettings(model="", steps=2, height=64, width=64, dtype="fp32", batch_size=8,
                                  cpu_threads=1)
        cfg = BuildConfig(out=out, preset=preset, settings=base, images_per_prompt=1, image_limit=1,
                          shard_size=64, model_label=SMOKE_MODEL_LABEL)
        if "model" in settings_over:
            cfg.model_label = None
    else:
        cfg = BuildConfig(out=out, preset=preset)
    cfg.settings = dataclasses.replace(cfg.settings, **settings_over)
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg


# -- shards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    concept: str
    index: int
    start: int  # job range [start, stop) within the concept
    stop: int

    @property
    def name(self) -> str:
        return f"{self.concept}/{self.index:05d}"

    @property
    def images(self) -> str:
        return images_shard(self.name)

    @property
    def verdicts(self) -> str:
        return verdicts_shard(self.name)


def parse_shard(spec: str) -> tuple[int, int]:
    """'3/8' -> (3, 8), checked before any work."""
    try:
        rank, world = (int(x) for x in spec.split("/"))
    except ValueError:
        raise DataIGMError(f"--shard {spec!r}: expected RANK/TASKS, e.g. 0/8") from None
    if world < 1 or not 0 <= rank < world:
        raise DataIGMError(f"--shard {spec!r}: needs TASKS >= 1 and 0 <= RANK < TASKS")
    return rank, world


def shards_of(concept: str, n_jobs: int, shard_size: int) -> list[Shard]:
    return [Shard(concept, k, s, min(s + shard_size, n_jobs))
            for k, s in enumerate(range(0, n_jobs, shard_size))]


def load_plan(store: Store) -> dict[str, Any]:
    if not store.exists(PLAN):
        raise DataIGMError(f"{store.url} has no build plan ({PLAN}); run `dataigm build` first")
    plan = store.read_json(PLAN, what="build plan")
    for key in ("config", "concepts", "jobs", "fingerprint"):
        if key not in plan:
            raise DataIGMError(f"{store.path(PLAN)}: corrupt build plan (no {key!r}); delete the folder and rebuild")
    return plan


def all_shards(plan: dict[str, Any]) -> list[Shard]:
    """Every shard of the plan, in a fixed global order (rank r runs shards i % world == r)."""
    size = plan["config"]["shard_size"]
    return [s for c in plan["concepts"] for s in shards_of(c, plan["jobs"][c], size)]


def rank_shards(plan: dict[str, Any], rank: int, world: int) -> list[Shard]:
    return [s for i, s in enumerate(all_shards(plan)) if i % world == rank]


# -- completion markers ---------------------------------------------------------------------------


def mark_complete(store: Store, rel: str, rows: int, **extra: Any) -> None:
    """Mark the (already renamed) shard file `rel` complete: rows, size and sha256 of its bytes."""
    data = store.read_bytes(rel)
    store.write_json(marker_of(rel), {"rows": rows, "bytes": len(data),
                                      "sha256": hashlib.sha256(data).hexdigest(), **extra})


def read_marker(store: Store, rel: str, deep: bool = False) -> dict[str, Any] | None:
    """The marker of shard file `rel` when the file matches it (size; with `deep`, sha256 too).
    A marker whose shard is missing, truncated or swapped counts as absent: the shard is redone."""
    marker = marker_of(rel)
    if not store.exists(marker):
        return None
    try:
        done = store.read_json(marker)
        if not store.exists(rel) or store.size(rel) != done["bytes"]:
            return None
        if deep and hashlib.sha256(store.read_bytes(rel)).hexdigest() != done["sha256"]:
            return None
    except (DataIGMError, KeyError, TypeError):
        return None
    return done
