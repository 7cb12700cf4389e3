"""Curate: run every check of a concept's curation policy over a generated shard and keep the
verdicts (never the decision: `pack` decides, so a new detector re-runs judging and packing only).

The policy comes from the concept's category builder, the detectors from the detector registry;
nothing here knows a detector or concept by name.
"""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from dataigm.core import faults
from dataigm.core.curation import Check, CurationOptions, CurationPolicy
from dataigm.core.errors import DataIGMError
from dataigm.core.layout import PLAN
from dataigm.core.logs import get
from dataigm.core.plan import BuildPlan, Shard, checked_keys, mark_complete, read_marker
from dataigm.core.precision import chosen_precision
from dataigm.core.registry import builder_for, resolve_judge
from dataigm.core.storage import Store
from dataigm.stages.imports import resolve_concept

log = get("curate")


class Curators:
    """Policies per concept and detectors per check, built once per process."""

    def __init__(self, store: Store, options: CurationOptions) -> None:
        self.store = store
        self.options = options
        self._policies: dict[str, CurationPolicy] = {}
        self._detectors: dict[str, Any] = {}

    def policy(self, concept: str) -> CurationPolicy:
        """The curation policy of a concept (from its category builder)."""
        if concept not in self._policies:
            c = resolve_concept(self.store, concept)
            self._policies[concept] = builder_for(c).curation(c, self.options)
        return self._policies[concept]

    def detector(self, check: Check):
        """The loaded detector of a check (one instance per detector and options)."""
        key = repr((check.detector, sorted(check.options.items())))
        if key not in self._detectors:
            self._detectors[key] = check.judge().load()
        return self._detectors[key]

    def signature(self, concept: str) -> str:
        """The signature a concept's verdict shards are marked with."""
        return self.policy(concept).signature()

    def describe(self, concept: str) -> list[dict[str, Any]]:
        """Each check with its detector's version and threshold (for the manifest and the card)."""
        out = []
        for check in self.policy(concept).checks:
            d = self.detector(check)
            out.append({"key": check.key, "detector": check.detector, "version": d.version,
                        "threshold": d.threshold, "expect": dict(check.expect)})
        return out


def is_curated(store: Store, shard: Shard, signature: str) -> bool:
    """Whether a shard's verdicts are complete and were made under `signature`."""
    done = read_marker(store, shard.verdicts)
    return done is not None and done.get("policy") == signature


def decode_images(table: pa.Table) -> list[np.ndarray]:
    """RGB arrays of a table's `image` column."""
    return [np.asarray(Image.open(io.BytesIO(img["bytes"])).convert("RGB"))
            for img in table.column("image").to_pylist()]


def curate_shard(store: Store, shard: Shard, curators: Curators) -> int:
    """Run every check of the shard's concept over its images; write its verdicts (by row id)."""
    started = time.time()
    policy = curators.policy(shard.concept)
    table = store.read_table(shard.images, columns=["id", "image"])
    images = decode_images(table)
    columns = []
    for check in policy.checks:
        verdicts = curators.detector(check).judge(images) if images else []
        columns.append([dataclasses.replace(v, check=check.key).as_row() for v in verdicts])
    rows = [list(per_row) for per_row in zip(*columns, strict=True)] if columns and images else [[]] * len(images)
    out = pa.Table.from_pydict({"id": table.column("id").to_pylist(), "verdicts": rows})
    store.write_table(shard.verdicts, out)
    faults.point("curate:before-marker")
    mark_complete(store, shard.verdicts, out.num_rows, policy=policy.signature())
    log.info("curated shard %s: %d images, %d checks in %.1f s", shard.name, out.num_rows, len(policy.checks),
             time.time() - started)
    return out.num_rows


def recurate(out: str, judges: list[str] | None = None, progress: bool = True, **changes: Any) -> dict[str, int]:
    """Re-run curation (never generation) under new curation options: `judges` (artifacts that
    replace the build's) and any other `CurationOptions` field (None: keep the build's). Shards whose
    verdicts were made by another policy are judged again; `pack` then rewrites the release. The
    plan records the new options only once the folder is known to be re-curatable."""
    from dataigm.core.folders import writing_folder

    with writing_folder(out, "release", "dataigm curate", flag="", create=False):
        return _recurate(out, judges, progress, **changes)


def _recurate(out: str, judges: list[str] | None = None, progress: bool = True,
              **changes: Any) -> dict[str, int]:
    """The work of `recurate`, with the folder held."""
    from tqdm.auto import tqdm

    from dataigm.stages.release import complete_interrupted_pack

    store = Store(out)
    checked_keys(changes, CurationOptions.field_names() - {"judges"}, "curation option")
    BuildPlan.read(store)  # a folder without a build is refused before its lock file is made
    with store.lock(PLAN):
        plan = BuildPlan.read(store)
        shards = plan.shards()
        missing = [s.name for s in shards if read_marker(store, s.images) is None]
        if missing:
            raise DataIGMError(f"{out}: {len(missing)} shard(s) have no images yet ({', '.join(missing[:5])}); "
                               "finish the build before re-curating")
        given = {k: v for k, v in changes.items() if v is not None}
        if judges:
            given["judges"] = tuple(judge_targets(judges))
            check_judge_targets(given["judges"], list(plan.concepts), out)
        options = dataclasses.replace(plan.config.curation, **given)
        check_curation([resolve_concept(store, n) for n in plan.concepts], options,
                       {given[k] for k in ("clip", "person_check") if given.get(k)})
        options = dataclasses.replace(options, clip_dtype=chosen_precision(options.clip_dtype))
        curators = Curators(store, options)
        todo = [s for s in shards if not is_curated(store, s, curators.signature(s.concept))]
        for concept in dict.fromkeys(s.concept for s in todo):  # every detector loads before the plan changes
            curators.describe(concept)
        complete_interrupted_pack(store)
        store.write_json(PLAN, dataclasses.replace(plan, config=dataclasses.replace(plan.config, curation=options))
                         .to_json())
    for shard in tqdm(todo, desc="curate", unit="shard", disable=not progress):
        curate_shard(store, shard, curators)
    return {"shards": len(shards), "curated": len(todo), "skipped": len(shards) - len(todo)}


def check_curation(concepts: list[Any], options: CurationOptions, named: set[str]) -> None:
    """Before any work: every model or weights file `named` on the command line (--clip,
    --person-check) can be loaded by the curation check that uses it (`JudgeSpec.check`: the
    detector's own check, no weights loaded), so a bad one never stops a build after generation.
    The checks of `concepts` come first, then the taxonomy's: a value no concept here uses is
    recorded in the plan all the same, and a later build of another concept would load it."""
    from dataigm.core.taxonomy import load_taxonomy

    pending = set(named)
    for concept in [*concepts, *load_taxonomy().concepts.values()]:
        if not pending:
            return
        for check in builder_for(concept).curation(concept, options).checks:
            used = pending & {v for v in check.options.values() if isinstance(v, str)}
            if used:
                check.judge().check()
                pending -= used


def check_judge_targets(judges: tuple[tuple[str, str], ...] | list[tuple[str, str]], concepts: list[str],
                        where: str) -> None:
    """Refuse, before any work, a judge that would judge nothing here: one trained for a concept or
    category `where` does not hold (its `concepts`), one whose config names a target that is not in
    the taxonomy, or a concept judge whose target is not among its own labels (an edited config)."""
    from dataigm.core.errors import suggest
    from dataigm.core.inputs import read_json
    from dataigm.core.layout import JUDGE_CONFIG
    from dataigm.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    held = [taxonomy.concepts[n] for n in concepts if n in taxonomy.concepts]
    names, categories = {c.name for c in held}, {c.category for c in held}
    for target, artifact in judges:
        if target not in taxonomy.concepts and target not in taxonomy.categories:
            raise DataIGMError(f"--judge {artifact}: its config names the target {target!r}, which is no concept or "
                               f"category of the taxonomy{suggest(target, [*taxonomy.concepts, *taxonomy.categories])}")
        if target not in names and target not in categories:
            held_text = ", ".join(sorted(names)[:8]) + (" ..." if len(names) > 8 else "") or "no concept"
            raise DataIGMError(f"--judge {artifact}: trained for {target!r}, which {where} does not hold "
                               f"(it holds {held_text}); it would judge nothing")
        if target in taxonomy.concepts:
            config = read_json(Path(artifact) / JUDGE_CONFIG)
            labels = config.get("labels") if isinstance(config, dict) else None
            if isinstance(labels, list) and target not in labels:
                raise DataIGMError(f"--judge {artifact}: its config names the target {target!r}, but its labels are "
                                   f"{labels}; the artifact was edited or is broken")


def judge_targets(specs: list[str]) -> list[tuple[str, str]]:
    """(target concept or category, artifact folder) of trained judges given as folders or Hub ids."""
    out = []
    for spec in specs:
        judge = resolve_judge(spec)
        if judge.target is None:
            raise DataIGMError(f"--judge {spec}: curation takes trained judge artifacts ({spec} already curates "
                               "what its category builder gives it)")
        out.append((judge.target, str(judge.options["artifact"])))
    return out
