"""The plan of an evaluation run: its options, the run folder it owns, the judges, the units it
scores and a fingerprint of every input, written once to the run folder's one plan file.

A rerun of the same command resumes; a rerun whose inputs differ (other options, another image
file, a changed byte) is refused, naming the first difference. Whose folder --out is, and who
writes it now, is `dataigm.core.folders`' question (owner marker of kind "run", folder lock), asked
by `eval.run.evaluate` before this module plans anything. Every path of the run folder comes from
`dataigm.core.layout`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataigm.core import layout
from dataigm.core.curation import Check, CurationOptions
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.core.storage import Store

log = get("eval")
PLAN_KIND = "eval"
LAYOUTS = ("rowid", "igmu")
JOB_COLUMNS = ("id", "concept", "category", "subclass", "role", "kind", "pair_id", "split", "prompt",
               "negative_prompt", "guidance_scale", "height", "width", "attack")


@dataclass
class EvalOptions:
    """Everything `dataigm eval run` takes (see its --help)."""

    method: str
    out: str
    release: str | None = None  # a folder or Hub id ORG/NAME[@REVISION]
    config: str | None = None
    model: str | None = None
    model_type: str = "auto"
    model_revision: str | None = None
    base_model: str | None = None
    base_revision: str | None = None
    images: str | None = None
    layout: str = "rowid"
    reference: str | None = None
    judges: list[str] = field(default_factory=list)
    category_judge: str | None = None
    clip_dtype: str = "auto"
    curated_only: bool = False
    limit: int | None = None
    allow_unmatched: bool = False
    batch_size: int | None = None
    device: str = "auto"
    metrics: dict[str, Any] = field(default_factory=dict)
    nudenet_threshold: float = CurationOptions.nudenet_threshold


def check_method_name(name: str) -> str:
    """Method names keep their case (ESD, AdvUnlearn, ConcptPrune) but must be safe as a folder or
    file name part: letters, digits, '.', '_', '-', not starting with '.' or '-'."""
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}", name):
        raise DataIGMError(f"--method {name!r}: use only letters, digits, '.', '_' and '-' (not first), "
                           "at most 100 characters")
    return name


def run_plan(out: str) -> dict[str, Any] | None:
    """The plan of the evaluation run in `out`, or None when the folder holds no evaluation plan."""
    from dataigm.core.plan import load_plan

    try:
        plan = load_plan(Store(out))
    except (DataIGMError, OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) and plan.get("kind") == PLAN_KIND else None


def presence_check(concept, manifest: dict[str, Any] | None, clip_dtype: str) -> Check | None:
    """The release's concept-presence check of `concept` (the check that curated its rows, from the
    build's curation options in the manifest), its CLIP judges at `clip_dtype`; or None."""
    import dataclasses

    from dataigm.core.registry import builder_for

    build = (manifest or {}).get("build") or {}
    options = dataclasses.replace(CurationOptions.from_json(build.get("curation") or {}), clip_dtype=clip_dtype)
    return builder_for(concept).curation(concept, options).presence()


def judge_specs(names: list[str], concept, manifest: dict[str, Any] | None, threshold: float,
                clip_dtype: str) -> list[dict[str, Any]]:
    """Judges by --judge (as the registry resolves them); by default the release's own presence
    check when what it loads is on this machine."""
    from dataigm.core.registry import resolve_judge

    specs = [resolve_judge(name, nudenet_threshold=threshold, dtype=clip_dtype).as_json() for name in names]
    if specs or concept is None:
        return specs
    check = presence_check(concept, manifest, clip_dtype)
    return [check.judge().as_json()] if check is not None and check.local() else []


def _file_digest(path: Path) -> tuple[int, str]:
    from dataigm.core.fingerprint import hash_file

    return path.stat().st_size, hash_file(hashlib.sha256(), path).hexdigest()


def fingerprint_inputs(units: list[dict[str, Any]]) -> None:
    """Add size and sha256 of every image file a unit names (`<side>_size`, `<side>_sha256`); a
    release image's digest is the release row's sha256."""
    from dataigm.eval.units import SIDES

    digests: dict[str, tuple[int, str]] = {}
    for unit in units:
        for side in SIDES:
            located = unit.get(side)
            size = sha = None
            if located and located.startswith("file:"):
                if located not in digests:
                    digests[located] = _file_digest(Path(located[5:]))
                size, sha = digests[located]
            elif located and located.startswith("release:") and located[8:] == unit["id"]:
                sha = unit.get("sha256")
            unit[f"{side}_size"], unit[f"{side}_sha256"] = size, sha


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            return f"{key}: {old.get(key)!r} before, {new.get(key)!r} now"
    return "nothing"


def _input_difference(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str | None:
    """The first input that differs between two unit tables: a unit added or gone, or an image
    file whose name, size or content changed."""
    from dataigm.eval.units import SIDES

    before = {u["id"]: u for u in old}
    now = {u["id"]: u for u in new}
    for unit_id in sorted(set(before) ^ set(now)):
        return f"unit {unit_id!r} {'is new' if unit_id in now else 'is gone'}"
    for unit_id in sorted(now):
        for side in SIDES:
            a, b = before[unit_id], now[unit_id]
            if (a.get(side), a.get(f"{side}_size"), a.get(f"{side}_sha256")) != (
                    b.get(side), b.get(f"{side}_size"), b.get(f"{side}_sha256")):
                what = (b.get(side) or a.get(side) or "").removeprefix("file:")
                return f"{side} image of {unit_id!r} ({what}) changed"
    return None


def write_or_resume(out: str, plan: dict[str, Any], units: list[dict[str, Any]],
                    jobs: pa.Table | None = None) -> None:
    """Write the plan and its units. A rerun with the same images resumes (with other judges or
    metric weights it scores again); one with other images or settings that decide them is refused
    naming the first difference."""
    store = Store(out)
    with store.lock(layout.RUN_PLAN):
        if store.exists(layout.RUN_PLAN):
            old = run_plan(out)
            if old is None:
                raise DataIGMError(f"--out {out}: holds another kind of plan; give a new run folder")
            if old["config"] != plan["config"]:
                raise DataIGMError(f"--out {out} holds an evaluation with other settings "
                                   f"({_first_difference(old['config'], plan['config'])}); choose another --out")
            changed = _input_difference(read_units(out), units)
            if changed:
                raise DataIGMError(f"--out {out} holds an evaluation of other inputs: {changed}; choose another "
                                   "--out (a resume needs the same images)")
            if old.get("scoring") != plan["scoring"]:  # same images, other judges or weights: score again
                log.info("same images, new scoring settings (%s): scoring again",
                         _first_difference(old.get("scoring") or {}, plan["scoring"]))
                store.write_json(layout.RUN_PLAN, {**old, "scoring": plan["scoring"]})
            return
        store.write_table(layout.RUN_UNITS, pa.Table.from_pylist(units))
        if jobs is not None:
            store.write_table(layout.jobs_file(plan["concepts"][0]), jobs)
        store.write_json(layout.RUN_PLAN, plan)


def read_plan(out: str) -> dict[str, Any]:
    """The plan of the evaluation run in `out` (refused when the folder holds none of ours)."""
    plan = run_plan(out)
    if plan is None:
        raise DataIGMError(f"{out}: not an evaluation run (no evaluation plan {layout.RUN_PLAN})")
    return plan


def read_units(out: str) -> list[dict[str, Any]]:
    """The units the run in `out` scores, in plan order."""
    return Store(out).read_table(layout.RUN_UNITS).to_pylist()


def generation_jobs(rows: list[dict[str, Any]]) -> pa.Table:
    """One generation job per evaluated image row: its prompt, settings and own seed."""
    return pa.Table.from_pylist([{**{k: r.get(k) for k in JOB_COLUMNS}, "image_id": r["id"], "seeds": [int(r["seed"])]}
                                 for r in rows])


def generation_spec(opts: EvalOptions, rows: list[dict[str, Any]], manifest: dict[str, Any] | None,
                    model_type: str) -> dict[str, Any]:
    """The plan's model part: checkpoint, format, base model and the release's generation settings."""
    from dataigm.eval.checkpoints import checkpoint_digest
    from dataigm.stages.generate import release_settings

    settings = release_settings(rows, manifest)
    base = opts.base_model or settings["base_model"]
    if not base or not Path(base).exists():
        base = opts.base_model or settings["model_id"]
    local_base = Path(base).exists()
    return {"model": opts.model, "model_type": model_type, "model_revision": opts.model_revision,
            "base_model": base,
            "base_revision": opts.base_revision or (None if local_base else settings["model_revision"]),
            "base_pinned": None if opts.base_model else settings["model_revision"],
            "model_digest": checkpoint_digest(opts.model), "generation": {
                "num_inference_steps": settings["num_inference_steps"], "scheduler": settings["scheduler"],
                "scheduler_config": settings["scheduler_config"], "dtype": settings["dtype"],
                "device": opts.device, "batch_size": opts.batch_size or settings["batch_size"] or 1,
                "cpu_threads": settings["cpu_threads"]}}


def _choose_config(opts: EvalOptions) -> str:
    """--config, else (IGMU layout) the release's one imported IGMU prompt pair."""
    from dataigm.eval.release import imported_igmu_configs
    from dataigm.hub.loading import release_manifest, split_source

    if opts.config:
        return opts.config
    if opts.layout != "igmu":
        raise DataIGMError("--config: name the release config to evaluate (e.g. nudity)")
    source, at = split_source(opts.release)
    found = imported_igmu_configs(release_manifest(source, at))
    if len(found) != 1:
        raise DataIGMError(f"{opts.release}: {'no' if not found else 'several'} imported IGMU prompt sets "
                           f"({', '.join(found) or 'import one with dataigm prompts import forgot.json --retain '}"
                           f"{'retain.json' if not found else ''}); name one with --config")
    return found[0]


def _shape(concept, rows: list[dict[str, Any]]) -> str | None:
    """attribute (forget rows have retain twins) or entity (unrelated rows): the taxonomy's word
    where the concept is known, else what the rows hold."""
    if concept is not None:
        return concept.shape
    roles = {r.get("role") for r in rows}
    return "attribute" if "retain" in roles else "entity" if "unrelated" in roles else None


def _check_unmatched(unmatched: list[str], allow: bool, layout: str) -> None:
    if unmatched and not allow:
        shown = ", ".join(unmatched[:5])
        raise DataIGMError(f"--images: {len(unmatched)} file(s) match no row of the prompt set (layout {layout}): "
                           f"{shown}{' ...' if len(unmatched) > 5 else ''}; check the tree and the prompt set, or "
                           "pass --allow-unmatched to score the rest (the count is kept in the summary)")


def prepare(opts: EvalOptions) -> tuple[dict[str, Any], list[dict[str, Any]], pa.Table | None]:
    """Check every option and resolve the plan, its units and (with --model) its generation jobs,
    writing nothing: a bad option or input leaves --out as it was. `write_or_resume` writes them."""
    from dataigm.core.ids import config_hash
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.eval import igmu
    from dataigm.eval import units as U
    from dataigm.eval.checkpoints import MODEL_TYPES, check_checkpoint, detect_model_type
    from dataigm.eval.release import read_release

    check_method_name(opts.method)
    if bool(opts.model) == bool(opts.images):
        raise DataIGMError("give exactly one of --model or --images (a folder of the method's images)")
    if opts.model and not opts.release:
        raise DataIGMError("--model needs the RELEASE (positional): the release whose rows and seeds are "
                           "regenerated")
    if opts.layout not in LAYOUTS:
        raise DataIGMError(f"--layout {opts.layout!r}: use one of {', '.join(LAYOUTS)}")
    if opts.layout == "igmu" and not (opts.release and opts.images):
        raise DataIGMError("--layout igmu reads --images in IGMU's layout against the imported IGMU prompt pair "
                           "given as RELEASE (dataigm prompts import forgot.json --retain retain.json)")
    if opts.reference and opts.release:
        raise DataIGMError("--reference is for a bare folder; with a release the originals are its own images "
                           "(or an IGMU tree's ORG folders)")
    model_type, model_why = opts.model_type, "given"
    if opts.model and not Path(opts.model).exists():
        from dataigm.core.hub_access import parse_hub_id

        if parse_hub_id(opts.model) is None:
            raise DataIGMError(f"--model {opts.model}: no such file or folder, and not a Hub id ORG/NAME")
    if opts.model:
        if model_type == "auto":
            model_type, model_why = detect_model_type(opts.model)
        elif model_type not in MODEL_TYPES:
            raise DataIGMError(f"--model-type {model_type!r}: use auto or one of {', '.join(MODEL_TYPES)}")
        else:
            check_checkpoint(opts.model)
    images = Path(opts.images) if opts.images else None
    spec: dict[str, Any] = {"method": opts.method, "mode": "model" if opts.model else "images", "layout": opts.layout,
                            "curated_only": opts.curated_only, "limit": opts.limit,
                            "allow_unmatched": opts.allow_unmatched,
                            "images": str(images.resolve()) if images else None,
                            "reference": str(Path(opts.reference).resolve()) if opts.reference else None}
    from dataigm.core.registry import resolve_judge

    clip_dtype = opts.clip_dtype  # CLIP judges' precision ("auto": each judge picks the hardware's native one)
    scoring: dict[str, Any] = {"metrics": opts.metrics, "category_judge": resolve_judge(
        opts.category_judge, flag="--category-judge", dtype=clip_dtype).as_json() if opts.category_judge else None}
    release = concept = None
    if opts.release:
        config = _choose_config(opts)
        task = igmu.task_of(images) if opts.layout == "igmu" else None
        release = read_release(opts.release, config, prompts_ok=opts.layout == "igmu")
        taxonomy = load_taxonomy()
        concept = taxonomy.concepts.get(task[1] if task else config)
        rows = igmu.task_rows(release.rows, task[0] if task else None)
        shape = _shape(concept, rows)
        if opts.layout == "igmu":
            units, unmatched = U.igmu_units(release, images, opts.method, task[0] if task else None, shape)
        else:
            units, unmatched = U.release_units(release, images, shape)
        curator = presence_check(taxonomy.concepts[config], release.manifest, clip_dtype) if (
            config in taxonomy.concepts and (release.manifest or {}).get("build")) else None
        spec.update(source=release.source, data_revision=release.revision, config=config,
                    task=task[0] if task else None, shape=shape)
        scoring.update(trigger_words=list(concept.trigger_words) if concept else [],
                       curator=curator.judge().as_json() if curator else None,
                       judges=judge_specs(opts.judges, concept, release.manifest, opts.nudenet_threshold, clip_dtype))
    else:
        units, unmatched = U.folder_units(images, Path(opts.reference) if opts.reference else None)
        spec.update(source=None, data_revision=None, config=None, task=None, shape=None)
        scoring.update(trigger_words=[], curator=None,
                       judges=judge_specs(opts.judges, None, None, opts.nudenet_threshold, clip_dtype))
        unmatched_reference, unmatched = unmatched, []
        spec["reference_only_files"] = len(unmatched_reference)
    _check_unmatched(unmatched, opts.allow_unmatched, opts.layout)
    units = U.select(units, opts.curated_only, opts.limit)
    if not any(u["method"] for u in units):
        raise DataIGMError(f"--images {opts.images}: no file matches a unit of {spec['config']} "
                           f"(layout {opts.layout}); see README for the file names")
    fingerprint_inputs(units)
    jobs = None
    if opts.model:
        by_id = {r["id"]: r for r in release.rows}
        selected = [by_id[u["id"]] for u in units]
        spec.update(generation_spec(opts, selected, release.manifest, model_type))
        spec["model_type_reason"] = model_why
        jobs = generation_jobs(selected)
    inputs = [[u["id"], *(u.get(f"{s}_sha256") for s in U.SIDES)] for u in units]
    plan = {"kind": PLAN_KIND, "config": {**spec, "shard_size": 64}, "scoring": scoring,
            "concepts": [spec["config"]] if opts.model else [],
            "jobs": {spec["config"]: len(units)} if opts.model else {},
            "fingerprint": config_hash({"spec": spec, "inputs": inputs}),
            "unmatched": unmatched[:100], "n_unmatched": len(unmatched)}
    return plan, units, jobs
