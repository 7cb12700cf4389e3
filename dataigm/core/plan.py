"""The build configuration, the build plan and the completion markers of its shards.

`BuildConfig` is what was asked (a preset plus checked overrides); `stages.prepare.prepare` resolves
it (model revision pinned, the smoke preset's tiny models built, input digests filled) into a new,
frozen `BuildPlan` and writes it once to `layout.PLAN`; every rank of every engine reads it, so the
rank -> shard mapping, the model revision and every row's seed are decided there and nowhere else.
A shard file is written to a temporary name, renamed, and only then marked complete: the marker
holds its row count, byte size and sha256, so a truncated or swapped shard is not taken as done.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
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


@dataclass(frozen=True)
class BuildConfig:
    """What a build makes: preset, concepts, generation settings, sizes and curation options."""

    out: str
    preset: str = "full"
    concepts: tuple[str, ...] = ()
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    images_per_prompt: int | None = None  # None: the taxonomy's value per concept
    prompt_count: int | None = None  # forget prompts per concept (None: the recipe's size)
    image_limit: int | None = None  # pairs per subclass and kind that get images (None: all)
    shard_size: int = 256  # images per shard
    model_label: str | None = None
    curation: CurationOptions = field(default_factory=CurationOptions)
    # Digests of everything else that decides rows: taxonomy and recipe bytes, dataigm version,
    # resolved model weights. Filled when the plan is resolved (stages.prepare), never edited in place.
    inputs: Mapping[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Hash of everything that decides the rows' content (not which concepts, not engines)."""
        settings = self.settings.pixel_settings() | {"model": self.model_label or self.settings.model}
        return config_hash({
            "settings": settings, "images_per_prompt": self.images_per_prompt, "prompt_count": self.prompt_count,
            "image_limit": self.image_limit, "shard_size": self.shard_size, "inputs": dict(self.inputs)})

    def to_json(self) -> dict[str, Any]:
        """The config as JSON (with its fingerprint), as the plan and the manifest record it."""
        return {"out": self.out, "preset": self.preset, "concepts": list(self.concepts),
                "settings": dataclasses.asdict(self.settings), "images_per_prompt": self.images_per_prompt,
                "prompt_count": self.prompt_count, "image_limit": self.image_limit, "shard_size": self.shard_size,
                "model_label": self.model_label, "curation": self.curation.as_json(), "inputs": dict(self.inputs),
                "fingerprint": self.fingerprint()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> BuildConfig:
        """The config a plan or manifest recorded (`to_json`'s output)."""
        d = {k: v for k, v in d.items() if k != "fingerprint"}
        checked_keys(d, {f.name for f in dataclasses.fields(cls)}, "build plan config")
        return cls(**{**d, "concepts": tuple(d.get("concepts", ())),
                      "settings": GenerationSettings.from_json(d["settings"]),
                      "curation": CurationOptions.from_json(d.get("curation", {})),
                      "inputs": dict(d.get("inputs", {}))})


def checked_keys(given: Mapping[str, Any], known: set[str], kind: str) -> Mapping[str, Any]:
    """Refuse a key that is not a field, suggesting the close match (`--image-limt` ->
    'image_limit'), as ultralytics does for its cfg keys; returns `given`."""
    for key in given:
        if key not in known:
            raise UnknownNameError(kind, key, known)
    return given


OVERRIDABLE = ("concepts", "images_per_prompt", "prompt_count", "image_limit", "shard_size", "model_label")


def preset_config(preset: str, out: str, *, settings: Mapping[str, Any] | None = None,
                  curation: CurationOptions | Mapping[str, Any] | None = None, **overrides: Any) -> BuildConfig:
    """A BuildConfig from a preset plus overrides (None values are "not given"). Every key is
    checked against the fields it sets: a misspelt one fails and names the close match."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    overrides = {k: v for k, v in checked_keys(overrides, set(OVERRIDABLE), "build setting").items() if v is not None}
    settings = {k: v for k, v in checked_keys(settings or {}, GenerationSettings.field_names(),
                                              "generation setting").items() if v is not None}
    if isinstance(curation, Mapping):
        curation = CurationOptions(**{k: v for k, v in checked_keys(curation, CurationOptions.field_names(),
                                                                    "curation option").items() if v is not None})
    if preset == "smoke":
        base = GenerationSettings(model="", steps=2, height=64, width=64, dtype="fp32", batch_size=8,
                                  cpu_threads=1)
        cfg = BuildConfig(out=out, preset=preset, settings=base, images_per_prompt=1, image_limit=1,
                          shard_size=64, model_label=None if "model" in settings else SMOKE_MODEL_LABEL)
    else:
        cfg = BuildConfig(out=out, preset=preset)
    if "concepts" in overrides:
        overrides["concepts"] = tuple(overrides["concepts"])
    return dataclasses.replace(cfg, settings=dataclasses.replace(cfg.settings, **settings),
                               curation=curation or cfg.curation, **overrides)


@dataclass(frozen=True)
class BuildPlan:
    """A resolved build: its config (model pinned, inputs digested), the concepts in order, the
    image jobs per concept, the fingerprint the shards are marked with, and the last rank count."""

    config: BuildConfig
    concepts: tuple[str, ...]
    jobs: Mapping[str, int]
    fingerprint: str
    last_tasks: int = 1

    def shards(self) -> list[Shard]:
        """Every shard, in the fixed global order (rank r of N runs shards i % N == r)."""
        return plan_shards(self.concepts, self.jobs, self.config.shard_size)

    def rank_shards(self, rank: int, world: int) -> list[Shard]:
        """The shards rank `rank` of `world` makes."""
        return [s for i, s in enumerate(self.shards()) if i % world == rank]

    def to_json(self) -> dict[str, Any]:
        """The plan file's content."""
        return {"config": self.config.to_json(), "concepts": list(self.concepts), "jobs": dict(self.jobs),
                "fingerprint": self.fingerprint, "last_tasks": self.last_tasks}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> BuildPlan:
        """A plan as `load_plan` read it."""
        return cls(BuildConfig.from_json(d["config"]), tuple(d["concepts"]), dict(d["jobs"]), d["fingerprint"],
                   int(d.get("last_tasks", 1)))

    @classmethod
    def read(cls, store: Store) -> BuildPlan:
        """The build plan of a release folder (one clear line when there is none or it is corrupt)."""
        plan = load_plan(store)
        try:
            return cls.from_json(plan)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataIGMError(f"{store.path(PLAN)}: corrupt build plan ({exc}); delete the folder and rebuild"
                               ) from None


# -- shards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """A slice of one concept's image jobs, generated, curated and marked complete as one unit."""

    concept: str
    index: int
    start: int  # job range [start, stop) within the concept
    stop: int

    @property
    def name(self) -> str:
        """`<concept>/NNNNN`: how logs, errors and file names refer to it."""
        return f"{self.concept}/{self.index:05d}"

    @property
    def images(self) -> str:
        """Its image file in the work area."""
        return images_shard(self.name)

    @property
    def verdicts(self) -> str:
        """Its verdict file in the work area."""
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
    """The shards of one concept's `n_jobs` image jobs."""
    return [Shard(concept, k, s, min(s + shard_size, n_jobs))
            for k, s in enumerate(range(0, n_jobs, shard_size))]


def load_plan(store: Store) -> dict[str, Any]:
    """The plan file of a release or run folder as JSON (checked for the keys every plan has)."""
    if not store.exists(PLAN):
        raise DataIGMError(f"{store.url} has no build plan ({PLAN}); run `dataigm build` first")
    plan = store.read_json(PLAN, what="build plan")
    for key in ("config", "concepts", "jobs", "fingerprint"):
        if key not in plan:
            raise DataIGMError(f"{store.path(PLAN)}: corrupt build plan (no {key!r}); delete the folder and rebuild")
    return plan


def plan_shards(concepts: tuple[str, ...] | list[str], jobs: Mapping[str, int], shard_size: int) -> list[Shard]:
    """Every shard of a plan, in a fixed global order (rank r runs shards i % world == r)."""
    return [s for c in concepts for s in shards_of(c, jobs[c], shard_size)]


def all_shards(plan: Mapping[str, Any]) -> list[Shard]:
    """Every shard of a plan file's JSON (`load_plan`), in the global order."""
    return plan_shards(plan["concepts"], plan["jobs"], plan["config"]["shard_size"])


def rank_shards(plan: Mapping[str, Any], rank: int, world: int) -> list[Shard]:
    """The shards of a plan file's JSON that rank `rank` of `world` makes."""
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
