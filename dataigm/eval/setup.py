"""Setting an evaluation up: which rows, which images, which judges and weights, and the method's
generation plan; then running it on the chosen engine and summarising."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataigm.core.curation import CurationOptions
from dataigm.core.errors import DataIGMError
from dataigm.core.storage import Store
from dataigm.engines import EngineOptions


@dataclass
class EvalOptions:
    method: str
    out: str
    source: str | None = None
    config: str | None = None
    revision: str | None = None
    model: str | None = None
    model_type: str = "pipeline"
    base_model: str | None = None
    base_revision: str | None = None
    images: str | None = None
    layout: str = "rowid"
    reference: str | None = None
    judges: list[str] = field(default_factory=list)
    statuses: tuple[str, ...] = ("ok",)
    limit: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    metrics: dict[str, Any] = field(default_factory=dict)
    nudenet_threshold: float = 0.45


def judge_specs(names: list[str], concept, manifest: dict[str, Any] | None, threshold: float) -> list[dict[str, Any]]:
    """Judges by --judge (nudenet or an artifact folder); by default the release's own concept check."""
    specs = []
    for name in names:
        if name == "nudenet":
            specs.append({"detector": "nudenet", "options": {"threshold": threshold}})
        elif Path(name, "config.json").exists():
            specs.append({"detector": "judge", "options": {"artifact": str(Path(name).resolve())}})
        else:
            raise DataIGMError(f"--judge {name!r}: not 'nudenet' and not a judge artifact folder (no config.json)")
    if specs or concept is None:
        return specs
    from dataigm.core.registry import builder_for

    build = (manifest or {}).get("build") or {}
    options = CurationOptions.from_json(build.get("curation") or {})
    checks = [c for c in builder_for(concept).curation(concept, options).checks if c.key == "concept"]
    if checks and (checks[0].detector != "clip-zero-shot" or Path(str(checks[0].options["model"])).exists()):
        return [{"detector": checks[0].detector, "options": dict(checks[0].options)}]
    return []


def _concept(config: str):
    from dataigm.core.taxonomy import load_taxonomy

    return load_taxonomy().concepts.get(config)


def prepare_evaluation(opts: EvalOptions) -> tuple[dict[str, Any], bool]:
    """Write the evaluation plan; returns (spec, needs generation)."""
    from dataigm.eval.checkpoints import MODEL_TYPES, checkpoint_digest
    from dataigm.eval.generate import plan_generation
    from dataigm.eval.inputs import match_images, read_release
    from dataigm.eval.run import folder_rows, write_plan
    from dataigm.stages.generate import release_settings

    if bool(opts.model) == bool(opts.images):
        raise DataIGMError("give exactly one of --model or --images (a folder of the method's images)")
    if opts.model and not opts.source:
        raise DataIGMError("--model needs --source: the release whose rows and seeds are regenerated")
    if opts.model_type not in MODEL_TYPES:
        raise DataIGMError(f"--model-type {opts.model_type!r}: use one of {', '.join(MODEL_TYPES)}")
    if opts.source and not opts.config:
        raise DataIGMError("--source needs --config: the release config to evaluate")
    spec: dict[str, Any] = {"method": opts.method, "config": opts.config, "source": opts.source,
                            "revision": opts.revision, "mode": "model" if opts.model else "images",
                            "metrics": opts.metrics, "statuses": list(opts.statuses), "limit": opts.limit}
    extra: dict[str, Any] = {}
    if opts.source:
        release = read_release(opts.source, opts.config, opts.revision, opts.statuses, opts.limit)
        rows, extra["files"] = release.rows, release.files
        concept = _concept(opts.config)
        spec["trigger_words"] = list(concept.trigger_words) if concept else []
        spec["judges"] = judge_specs(opts.judges, concept, release.manifest, opts.nudenet_threshold)
    else:
        rows, files = folder_rows(Path(opts.images))
        spec["judges"] = judge_specs(opts.judges, None, None, opts.nudenet_threshold)
        extra["matched"] = files
        if opts.reference:
            reference = Path(opts.reference)
            found = {r["id"]: str(reference / r["id"]) for r in rows if (reference / r["id"]).is_file()}
            if not found:
                raise DataIGMError(f"--reference {reference}: no image has the same name as one in --images")
            rows = [r for r in rows if r["id"] in found]
            extra["reference"] = found
    if opts.model:
        settings = release_settings(rows, release.manifest)
        base = opts.base_model or settings["base_model"]
        if not base or not Path(base).exists():
            base = opts.base_model or settings["model_id"]
        spec.update(model=opts.model, model_type=opts.model_type, base_model=base,
                    base_revision=opts.base_revision or (None if Path(base).exists() else settings["model_revision"]),
                    base_pinned=None if opts.base_model else settings["model_revision"],
                    model_digest=checkpoint_digest(opts.model), generation={
                        "num_inference_steps": settings["num_inference_steps"], "scheduler": settings["scheduler"],
                        "scheduler_config": settings["scheduler_config"], "dtype": settings["dtype"],
                        "device": opts.device, "batch_size": opts.batch_size or settings["batch_size"] or 1,
                        "cpu_threads": settings["cpu_threads"]})
    elif opts.source:
        matched, extra_files = match_images(rows, Path(opts.images), opts.layout, opts.method)
        if not matched:
            raise DataIGMError(f"--images {opts.images}: no file matches a row of {opts.config} "
                               f"(layout {opts.layout}); see README for the file names")
        spec["unmatched_rows"] = len(rows) - len(matched)
        spec["unmatched_files"] = len(extra_files)
        rows = [r for r in rows if r["id"] in matched]
        extra["matched"] = {k: str(v) for k, v in matched.items()}
        spec.update(images=str(Path(opts.images).resolve()), layout=opts.layout)
    store = Store(opts.out)
    if store.exists("_build/eval.json"):
        old = store.read_json("_build/eval.json", what="evaluation plan")
        if old["spec"] != spec:
            raise DataIGMError(f"{opts.out} holds an evaluation with other settings; choose another --out")
    else:
        write_plan(opts.out, spec, rows, **extra)
    if opts.model:
        plan_generation(opts.out, rows, spec)
    return spec, bool(opts.model)


def evaluate(opts: EvalOptions, engine: EngineOptions | None = None, shard: str | None = None,
             progress: bool = True) -> dict[str, Any] | None:
    """Plan, generate (when --model) on the chosen engine, and summarise. Returns the summary
    (None when only one --shard ran or Slurm jobs were submitted)."""
    from dataigm.eval.generate import run_eval_rank
    from dataigm.eval.run import summarize

    _, generate = prepare_evaluation(opts)
    engine = engine or EngineOptions()
    if generate and shard:
        from dataigm.core.plan import parse_shard

        run_eval_rank(opts.out, *parse_shard(shard), progress=progress)
        return None
    if generate and engine.engine != "inline":
        from dataigm.engines import run_engine

        result = run_engine(opts.out, engine, run_eval_rank, summarize)
        return Store(opts.out).read_json("summary.json") if result["packed"] else None
    if generate:
        run_eval_rank(opts.out, 0, 1, progress=progress)
    return summarize(opts.out)
