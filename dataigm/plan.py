"""The build plan: which concepts, which prompt rows get images, and the fixed shard layout.

The plan is written once to `<out>/_build/plan.json`; every rank of every engine reads it, so
the rank -> shard mapping and every row's seed are decided here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dataigm.errors import DataIGMError
from dataigm.ids import config_hash
from dataigm.settings import GenerationSettings
from dataigm.storage import Store

PRESETS = ("smoke", "full")
SMOKE_MODEL_LABEL = "dataigm/tiny-random-sd"
PLAN = "_build/plan.json"


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
    person_check: str | None = None  # YOLO weights for the nudity retain person check

    def fingerprint(self) -> str:
        """Hash of everything that decides the rows' content (not concepts, not throughput)."""
        from builders.recipe import load_recipes

        return config_hash({
            "settings": self.settings.pixel_settings() | {"model": self.model_label or self.settings.model},
            "images_per_prompt": self.images_per_prompt, "prompt_count": self.prompt_count,
            "image_limit": self.image_limit, "shard_size": self.shard_size,
            "recipes": sorted({r.source for r in load_recipes().values()}),
        })

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fingerprint"] = self.fingerprint()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BuildConfig:
        d = {k: v for k, v in d.items() if k != "fingerprint"}
        d["settings"] = GenerationSettings(**d["settings"])
        return cls(**d)


def preset_config(preset: str, out: str, **overrides: Any) -> BuildConfig:
    """A BuildConfig from a preset plus the CLI's overrides (None values are ignored)."""
    if preset not in PRESETS:
        from dataigm.errors import UnknownNameError

        raise UnknownNameError("preset", preset, PRESETS)
    settings_over = {k: v for k, v in overrides.pop("settings", {}).items() if v is not None}
    if preset == "smoke":
        from dataigm.tiny_model import TINY_SIZE

        base = GenerationSettings(model="", steps=2, height=TINY_SIZE, width=TINY_SIZE,
                                  dtype="fp32", batch_size=8, cpu_threads=1)
        cfg = BuildConfig(out=out, preset=preset, settings=base, images_per_prompt=1,
                          image_limit=3, shard_size=32, model_label=SMOKE_MODEL_LABEL)
        if "model" in settings_over:
            cfg.model_label = None
    else:
        cfg = BuildConfig(out=out, preset=preset)
    cfg.settings = dataclasses.replace(cfg.settings, **settings_over)
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg


@dataclass(frozen=True)
class Shard:
    concept: str
    index: int
    start: int  # job range [start, stop) within the concept
    stop: int

    @property
    def name(self) -> str:
        return f"{self.concept}/{self.index:05d}"


def shards_of(concept: str, n_jobs: int, shard_size: int) -> list[Shard]:
    return [Shard(concept, k, s, min(s + shard_size, n_jobs))
            for k, s in enumerate(range(0, n_jobs, shard_size))]


def load_plan(store: Store) -> dict[str, Any]:
    if not store.exists(PLAN):
        raise DataIGMError(f"{store.url} has no build plan ({PLAN}); run `dataigm build` first")
    return store.read_json(PLAN)


def all_shards(plan: dict[str, Any]) -> list[Shard]:
    """Every shard of the plan, in a fixed global order (rank r runs shards i % world == r)."""
    size = plan["config"]["shard_size"]
    return [s for c in plan["concepts"] for s in shards_of(c, plan["jobs"][c], size)]
