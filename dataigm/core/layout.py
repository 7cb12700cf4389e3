"""Every path inside a release folder, an evaluation run folder and a judge artifact, by name.

This module is the only place that spells a file or folder name of these layouts; everything else
asks it. Paths are relative and '/'-separated: `Store.path(rel)` and `Path(folder) / rel` both
take them.

A release folder has a published part (the manifest, the dataset card, one folder of parquet
shards per config, plots) and a work area, `WORK`, that is never published: the build plan,
prompt and job tables, generated image and verdict shards with their completion markers, imported
prompt sets, the pack's staging area and journal, engine logs, and the smoke preset's tiny models.
An evaluation run folder has its own work area of the same shape (its plan, the units it scores,
jobs and image shards of the method's generated images) and three published outputs.
"""

from __future__ import annotations

# -- a release folder: the published part ----------------------------------------------------------

MANIFEST = "dataigm.json"  # schema version, build config and fingerprint, per-config counts and checks
CARD = "README.md"  # the dataset card; its YAML `configs:` is what `datasets.load_dataset` reads
PLOTS = "plots"  # SVG plots written by `dataigm report`, shown by the cards
ALL_SHARDS = "*/*.parquet"  # every published parquet shard (one folder per config)


def shard_file(config: str, split: str, index: int, count: int) -> str:
    """A published shard: `<config>/<split>-NNNNN-of-NNNNN.parquet` (the Hub's naming)."""
    return f"{config}/{split}-{index:05d}-of-{count:05d}.parquet"


def partial_shard(config_folder: str, split: str, index: int) -> str:
    """A shard still being written (renamed to `shard_file` when its split is complete)."""
    return f"{config_folder}/{split}-{index:05d}.part"


def config_shards(config: str, split: str | None = None) -> str:
    """Glob of a config's shards: one split's, or every parquet file of the config's folder."""
    return f"{config}/{split}-*.parquet" if split else f"{config}/*.parquet"


def split_of(shard_name: str) -> str:
    """The split a published shard file belongs to, from its file name."""
    return shard_name.split("-", 1)[0]


# -- a release folder: the work area (never published) ---------------------------------------------

WORK = "_build"
PLAN = f"{WORK}/plan.json"  # the build plan: resolved config, concepts, jobs per concept, fingerprint
TINY_MODEL = f"{WORK}/tiny-model"  # the smoke preset's random-weight Stable Diffusion pipeline
TINY_CLIP = f"{WORK}/tiny-clip"  # ... and its random-weight CLIP
IMAGES = f"{WORK}/images"  # generated image shards (+ completion markers)
VERDICTS = f"{WORK}/verdicts"  # curation verdict shards (+ completion markers)
IMPORTS = f"{WORK}/imports"  # imported prompt sets: rows and import records
STAGING = f"{WORK}/staging"  # what a pack writes before its commit
TRASH = f"{WORK}/trash"  # configs a pack replaces, until its commit completes
JOURNAL = f"{WORK}/pack-journal.json"  # the commit point of a pack: what to move into place
LOGS = f"{WORK}/logs"  # engine (datatrove) logs, one folder per stage and task count
# The folder lock (who writes the folder now) and the owner marker (the folder is dataigm's, of
# which kind): every folder kind has them, judge artifacts and run folders too (core.folders).
FOLDER_LOCK = f"{WORK}/folder.lock"
OWNER = f"{WORK}/owner.json"
DONE_SUFFIX = ".done.json"


def prompts_file(concept: str) -> str:
    """Every prompt row of a concept (published as its `<concept>-prompts` config)."""
    return f"{WORK}/prompts/{concept}.parquet"


def jobs_file(concept: str) -> str:
    """The prompt rows of a concept that get images, with their seeds (release and run folders)."""
    return f"{WORK}/jobs/{concept}.parquet"


def images_shard(shard: str) -> str:
    """Generated images of one shard (`<concept>/NNNNN`)."""
    return f"{IMAGES}/{shard}.parquet"


def verdicts_shard(shard: str) -> str:
    """Curation verdicts of one shard (`<concept>/NNNNN`)."""
    return f"{VERDICTS}/{shard}.parquet"


def concept_work(concept: str) -> tuple[str, str]:
    """The work-area folders of one concept's generated image shards and verdict shards."""
    return f"{IMAGES}/{concept}", f"{VERDICTS}/{concept}"


def marker_of(shard_file_rel: str) -> str:
    """The completion marker of a work-area shard file (rows, bytes, sha256)."""
    return shard_file_rel.removesuffix(".parquet") + DONE_SUFFIX


def import_rows(name: str) -> str:
    """The rows of an imported prompt set."""
    return f"{IMPORTS}/{name}.parquet"


def import_record(name: str) -> str:
    """Where an imported prompt set came from (source, nsfw, attacked concept)."""
    return f"{IMPORTS}/{name}.json"


def staged(rel: str) -> str:
    """Where a pack stages `rel` (a config folder or a top-level file) before its commit."""
    return f"{STAGING}/{rel}"


def trashed(rel: str) -> str:
    """Where a pack moves the config `rel` it replaces."""
    return f"{TRASH}/{rel}"


def engine_logs(stage: str, tasks: int, root: str = LOGS) -> str:
    """datatrove's logging folder of one stage run with `tasks` ranks."""
    return f"{root.rstrip('/')}/{stage}-{tasks}"


def task_log(stage: str, tasks: int, rank: int) -> str:
    """datatrove's log of one rank, inside `engine_logs`."""
    return f"{engine_logs(stage, tasks)}/logs/task_{rank:05d}.log"


# -- an evaluation run folder ----------------------------------------------------------------------
# Its work area reuses jobs_file (the rows whose method image is generated, with their seeds), IMAGES
# and images_shard (the generated shards and their markers).

RUN_PLAN = PLAN  # the evaluation's plan (kind "eval"): options, judges, scoring settings, input fingerprint
RUN_UNITS = f"{WORK}/units.parquet"  # the units scored: row fields, image locators, sizes and digests
RUN_SUMMARY = "summary.json"  # metrics with CIs (schema-versioned)
RUN_PER_IMAGE = "per_image.parquet"  # one row per evaluated unit
RUN_MANIFEST = "manifest.json"  # spec, release, environment, judges
LEGACY_RUN_SPEC = f"{WORK}/eval.json"  # the spec of runs written before the run plan (recognised, never written)


# -- a judge artifact folder -----------------------------------------------------------------------

JUDGE_CONFIG = "config.json"  # kind, target, labels, threshold, backbone, preprocessing, metrics
JUDGE_WEIGHTS = "model.safetensors"
JUDGE_CARD = "README.md"
JUDGE_PREDICTIONS = "predictions.parquet"  # test-split predictions (the report's curves)
JUDGE_FILES = (JUDGE_CONFIG, JUDGE_WEIGHTS, JUDGE_CARD, JUDGE_PREDICTIONS)
