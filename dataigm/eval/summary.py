"""The summary of a scored run: each metric of `definitions.DEFINITIONS` that the run's units and
weights allow, with its estimate, 95 % interval, N, the rows and reference it used (its definition
line) and its library and weights; what could not be computed and why; warnings (a judge that
curated the rows, values that are not finite, units without an image). Writes per_image.parquet,
summary.json and manifest.json.
"""

from __future__ import annotations

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pyarrow as pa

from dataigm.core import layout
from dataigm.core.curation import decision_rule
from dataigm.core.storage import Store
from dataigm.eval import metrics as M
from dataigm.eval.definitions import BY_NAME, PARAMETERS, definition
from dataigm.eval.scoring import PRESERVATION_ROLES, Scorer
from dataigm.eval.stats import jackknife_interval, mean_with_ci

SUMMARY_SCHEMA = 2
FID_UNBIASED_FROM = 2000
SET_METRICS = {"fid": "inception", "kid": "inception", "cmmd": "cmmd"}


def units_digest(ids: list[str]) -> str:
    """A short digest of the evaluated units' ids: two runs over the same rows share it."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


class Summary:
    """Metrics of one run from its scorer's per-image and per-unit values."""

    def __init__(self, plan: dict[str, Any], units: list[dict[str, Any]], scorer: Scorer):
        self.plan, self.units, self.scorer = plan, units, scorer
        self.spec, self.shape = plan["config"], plan["config"].get("shape")
        self.prompts = self.spec.get("source") is not None
        self.roles = np.array([u.get("role") or "" for u in units])
        self.kinds = np.array([u.get("kind") or "" for u in units])
        self.clusters = np.array([f"{u.get('pair_id') or u['id']}|{u.get('role') or ''}|{u.get('kind') or ''}"
                                  for u in units])
        self.has = {side: np.array([bool(u.get(side)) for u in units]) for side in ("method", "original", "twin")}
        self.resamples = int(scorer.options.get("bootstrap") or PARAMETERS["bootstrap"])
        self.out: dict[str, dict[str, Any]] = {}
        self.skipped = scorer.skipped
        self.warnings: list[str] = []

    # -- helpers --------------------------------------------------------------------------------

    def _entry(self, name: str, value: float, low: float, high: float, n: int, how: str | None,
               why: str | None = None, **info: Any) -> None:
        if how and not (np.isfinite(low) and np.isfinite(high)):
            why = why or "no resample gave a finite value: no interval"
            low, high, how = np.nan, np.nan, None
        elif how and not low <= value <= high:
            why = f"the {how.split(' ')[0]} interval did not hold the estimate: no interval"
            low = high = float("nan")
            how = None
        entry = {"value": value, "ci_low": low, "ci_high": high, "interval": how, "n": n,
                 "direction": definition(name).direction, **definition(name).entry(self.shape), **info}
        if why:
            entry["interval_note"] = why
        self.out[name] = entry

    def _missing(self, eligible: np.ndarray, needed: tuple[str, ...]) -> dict[str, int]:
        return {("reference" if side in ("original", "twin") else side): int((eligible & ~self.has[side]).sum())
                for side in needed if (eligible & ~self.has[side]).any()}

    def mean(self, name: str, eligible: np.ndarray, values: np.ndarray, needed: tuple[str, ...],
             **info: Any) -> None:
        """Mean of per-unit values over the eligible units that have the needed images, with a
        bootstrap interval clustered by prompt; non-finite values are counted, not averaged."""
        mask = eligible.copy()
        for side in needed:
            mask &= self.has[side]
        missing = self._missing(eligible, needed)
        if not mask.any():
            lacking = ", ".join(f"{n} without the {side} image" for side, n in missing.items())
            self.skipped.setdefault(name, "no unit has the images it needs" + (f" ({lacking})" if lacking else ""))
            return
        vals = values[mask]
        finite = np.isfinite(vals)
        extra: dict[str, Any] = {"n_missing": missing} if missing else {}
        if (~finite).any():
            extra["n_nonfinite"] = int((~finite).sum())
            self.warnings.append(f"{name}: {int((~finite).sum())} non-finite value(s) not in the mean")
        if not finite.any():
            self.skipped[name] = "every value is non-finite"
            return
        clusters = list(self.clusters[mask][finite])
        value, low, high = mean_with_ci(vals[finite], clusters, self.resamples)
        self._entry(name, value, low, high, int(finite.sum()),
                    f"bootstrap over prompts (clustered), {self.resamples} resamples", _one_prompt(clusters),
                    **extra, **info)

    def unit_values(self, side: str, name: str) -> np.ndarray:
        """A per-image value of every unit's `side` image, in unit order (NaN where missing)."""
        return np.array([self.scorer.image_value(u, side, name) for u in self.units])

    def column(self, name: str) -> np.ndarray:
        """A per-unit column the scorer filled (all NaN when it filled none)."""
        return self.scorer.columns.get(name, np.full(len(self.units), np.nan))

    # -- metrics --------------------------------------------------------------------------------

    def judges(self) -> None:
        """Forget rates (all rows, flagged originals), erasure and robustness rates per judge; flag
        rates in a bare folder; the first two judges' agreement."""
        forget, robust = self.roles == "forget", self.roles == "robustness"
        specs = self.plan["scoring"]["judges"]
        curator = self.plan["scoring"].get("curator")
        for judge, spec in zip(self.scorer.judges, specs, strict=True):
            info = {"library": "dataigm", "version": judge.version, "weights": judge.name,
                    "threshold": judge.threshold, "rule": decision_rule(judge)}
            method = self.unit_values("method", f"{judge.name}/decision")
            if not self.prompts:
                self.mean(f"flag_rate/{judge.name}", np.ones(len(self.units), bool), method, ("method",), **info)
                continue
            if curator and spec == curator:
                self.warnings.append(f"{judge.name} is the detector that curated these rows: on forget rows it kept, "
                                     "the original is flagged by construction; prefer an independent judge for "
                                     f"forget_rate_flagged/{judge.name} and erasure/{judge.name}")
            original = self.unit_values("original", f"{judge.name}/decision")
            if forget.any():
                self.mean(f"forget_rate/{judge.name}", forget, method, ("method",), **info)
                self.mean(f"original_forget_rate/{judge.name}", forget, original, ("original",), **info)
                flagged = forget & (original == 1)
                if flagged.any():
                    self.mean(f"forget_rate_flagged/{judge.name}", flagged, method, ("method", "original"), **info)
                self._erasure(judge.name, forget & self.has["method"] & self.has["original"], method, original, info)
            else:
                self.skipped.setdefault("forget_rate", "no forget rows among the evaluated units")
            for kind in sorted(set(self.kinds[robust])):
                self.mean(f"robust_forget_rate/{judge.name}/{kind}", robust & (self.kinds == kind), method,
                          ("method",), **info)
            if robust.any():
                self.mean(f"robust_forget_rate/{judge.name}", robust, method, ("method",), **info)
        if len(self.scorer.judges) >= 2:
            self._agreement(forget if self.prompts else np.ones(len(self.units), bool))

    def _erasure(self, judge: str, mask: np.ndarray, method: np.ndarray, original: np.ndarray, info) -> None:
        from dataigm.eval.stats import cluster_bootstrap

        m, o = method[mask], original[mask]
        if not mask.any() or not np.isfinite(o).all() or o.mean() == 0:
            self.skipped[f"erasure/{judge}"] = "the original model's forget images are never flagged (rate 0)"
            return

        def stat(idx: np.ndarray) -> float:
            base = o[idx].mean()
            return 1 - m[idx].mean() / base if base > 0 else float("nan")

        low, high = cluster_bootstrap(stat, list(self.clusters[mask]), self.resamples)
        self._entry(f"erasure/{judge}", float(1 - m.mean() / o.mean()), low, high, int(mask.sum()),
                    f"bootstrap over prompts (clustered), {self.resamples} resamples",
                    _one_prompt(list(self.clusters[mask])), **info)

    def _agreement(self, eligible: np.ndarray) -> None:
        from importlib.metadata import version as lib_version

        from dataigm.eval.stats import cluster_bootstrap, cohen_kappa

        a, b = self.scorer.judges[0].name, self.scorer.judges[1].name
        mask = eligible & self.has["method"]
        da = self.unit_values("method", f"{a}/decision")[mask] > 0.5
        db = self.unit_values("method", f"{b}/decision")[mask] > 0.5
        if not mask.any():
            return
        low, high = cluster_bootstrap(lambda idx: cohen_kappa(da[idx], db[idx]), list(self.clusters[mask]),
                                      self.resamples)
        self._entry(f"judge_agreement/{a}~{b}", cohen_kappa(da, db), low, high, int(mask.sum()),
                    f"bootstrap over prompts (clustered), {self.resamples} resamples",
                    _one_prompt(list(self.clusters[mask])),
                    library=f"scikit-learn {lib_version('scikit-learn')}", statistic="Cohen's kappa")

    def _set_metric(self, name: str, key: str, mask: np.ndarray, reference_side: str, note: str) -> None:
        """A distance between two image sets (FID, KID, CMMD) with a jackknife interval."""
        base = name.split("_")[0]
        model = {"inception": self.scorer.inception, "cmmd": self.scorer.cmmd}[key]
        if model is None:
            self.skipped.setdefault(name, self.skipped.get(base if base != "kid" else "fid", "no weights"))
            return
        feats = self.scorer.features[key]
        ks = np.flatnonzero(mask)
        if len(ks) < 2:
            self.skipped[name] = "fewer than 2 units with both images"
            return
        a = np.stack([feats[self.units[k][f"{reference_side}_sha256"]] for k in ks]).astype(np.float64)
        b = np.stack([feats[self.units[k]["method_sha256"]] for k in ks]).astype(np.float64)
        fn = {"fid": M.frechet_distance, "cmmd": M.cmmd,
              "kid": lambda x, y: M.kernel_inception_distance(x, y, subsets=20)[0]}[base]
        try:
            value = fn(a, b)
        except M.MetricSkipped as exc:
            self.skipped[name] = str(exc)
            return
        groups = int(PARAMETERS["jackknife_groups"])

        def stat(idx: np.ndarray) -> float:
            try:
                return fn(a[idx], b[idx])
            except M.MetricSkipped:
                return float("nan")

        low, high, why = jackknife_interval(stat, value, list(self.clusters[ks]), groups)
        if base in ("fid", "cmmd") and why is None:
            low = max(low, 0.0)  # both are non-negative (FID a distance, CMMD's estimator a squared norm)
        if base == "cmmd":
            info = {"library": "dataigm (RBF MMD, sigma 10, x1000)", "weights": model.model_id,
                    "revision": model.revision}
        else:
            info = dict(model.info)
        if base == "fid" and len(ks) < FID_UNBIASED_FROM:
            note += f"; fewer than {FID_UNBIASED_FROM:,} images: biased upwards"
        self._entry(name, value, low, high, len(ks),
                    None if why else f"jackknife over prompts, {min(groups, len(set(self.clusters[ks])))} groups",
                    why, note=note, **info)

    def distributions(self) -> None:
        """FID, KID and CMMD against IGMU's reference (twins or unrelated originals), their *_retain
        variants, and *_reference for a bare folder."""
        if not self.prompts:  # a bare folder: every file against its --reference file
            paired = self.has["method"] & self.has["original"]
            for name, key in (("fid_reference", "inception"), ("kid_reference", "inception"),
                              ("cmmd_reference", "cmmd")):
                self._set_metric(name, key, paired, "original", "--images vs --reference files of the same names")
            return
        if self.shape == "attribute":
            igmu, side = (self.roles == "forget") & self.has["method"] & self.has["twin"], "twin"
            note = "method's forget images vs the original's retain twins (IGMU: forgot/<M> vs remove_word/ORG)"
        else:
            igmu, side = (self.roles == "unrelated") & self.has["method"] & self.has["original"], "original"
            note = "method vs original images of the unrelated rows (IGMU: unrelated/<M> vs unrelated/ORG)"
        preserve = np.isin(self.roles, PRESERVATION_ROLES) & self.has["method"] & self.has["original"]
        for name, key in SET_METRICS.items():
            if self.shape is None:
                self.skipped[name] = "neither retain twins nor unrelated rows: IGMU's reference is undefined"
            else:
                self._set_metric(name, key, igmu, side, note)
            self._set_metric(f"{name}_retain", key, preserve, "original",
                             "method vs original images of the same retain/unrelated rows")

    def paired(self) -> None:
        """SSIM, PSNR and LPIPS of each method image against its reference image."""
        forget, preserve = self.roles == "forget", np.isin(self.roles, PRESERVATION_ROLES)
        torch_info = {"library": f"torchmetrics {version('torchmetrics')}", "weights": "none"}
        everything = np.ones(len(self.units), bool)
        rows = preserve if self.prompts else everything
        if not rows.any():
            self.skipped.setdefault("ssim", "no retain or unrelated rows among the evaluated units")
        elif "ssim" not in self.scorer.columns:
            self.skipped.setdefault("ssim", "no unit has both the method's and the original's image (give a "
                                    "release, or --reference for a bare folder)")
        else:
            self.mean("ssim", rows, self.column("ssim"), ("method", "original"), **torch_info)
            self.mean("psnr", rows, self.column("psnr"), ("method", "original"),
                      note=f"capped at {M.PSNR_CAP} dB", **torch_info)
        if self.scorer.lpips is None:
            self.skipped["lpips_retain" if self.prompts else "lpips_reference"] = self.skipped["lpips"]
            return
        info = self.scorer.lpips.info
        if not self.prompts:
            self.mean("lpips_reference", everything, self.column("lpips_same"), ("method", "original"), **info)
            return
        if self.shape == "attribute":
            self.mean("lpips", forget, self.column("lpips_twin"), ("method", "twin"), **info)
        elif self.shape == "entity":
            self.mean("lpips", self.roles == "unrelated", self.column("lpips_same"), ("method", "original"), **info)
        self.mean("lpips_retain", preserve, self.column("lpips_same"), ("method", "original"), **info)

    def alignment(self) -> None:
        """CLIP score on retain and unrelated rows, and CSDR on forget prompts."""
        if not self.prompts:
            for name in ("clip_score", "csdr"):
                self.skipped.setdefault(name, "no prompts (a bare folder has no release rows)")
            return
        clip = self.scorer.clip
        if clip is None:
            self.skipped["csdr"] = self.skipped["clip_score"]
            return
        info = {"library": f"transformers {version('transformers')}", "weights": clip.model_id,
                "revision": clip.revision}
        self.mean("clip_score", np.isin(self.roles, PRESERVATION_ROLES), self.column("clip_score/method"),
                  ("method",), scale="100 * cos, unclamped", **info)
        self._csdr(info)

    def _csdr(self, info: dict[str, Any]) -> None:
        if self.shape != "attribute":
            self.skipped["csdr"] = ("IGMU defines CSDR against the original's concept-removed twin (remove_word/ORG); "
                                    "an entity concept has none")
            return
        legacy = bool(self.scorer.options.get("csdr_legacy"))
        if not self.scorer.trigger_words and not legacy:
            self.skipped["csdr"] = ("no concept words known for this config (its text would keep the concept); "
                                    "--csdr-legacy uses IGMU's fixed list")
            return
        forget = (self.roles == "forget") & self.has["method"] & self.has["twin"]
        method, twin = self.column("csdr_text/method"), self.column("csdr_text/twin")
        by_prompt: dict[str, list[int]] = {}
        for k in np.flatnonzero(forget):
            by_prompt.setdefault(self.units[k]["pair_id"], []).append(k)
        if not by_prompt:
            self.skipped["csdr"] = "no forget unit has both the method's image and the twin"
            return
        values = np.array([M.csdr(np.array(M.prompt_clip_score(twin[ks])), np.array(M.prompt_clip_score(method[ks])))
                           for ks in by_prompt.values()], np.float64)
        prompt_csdr = self.scorer.columns.setdefault("csdr_prompt", np.full(len(self.units), np.nan))
        for value, ks in zip(values, by_prompt.values(), strict=True):
            prompt_csdr[ks] = value
        finite = np.isfinite(values)
        extra: dict[str, Any] = {}
        if (~finite).any():
            extra["n_nonfinite"] = int((~finite).sum())
            self.warnings.append(f"csdr: {int((~finite).sum())} prompt(s) whose original CLIP score is 0 (not in the "
                                 "mean)")
        if not finite.any():
            self.skipped["csdr"] = "every prompt's original CLIP score is 0"
            return
        clusters = [str(i) for i in range(int(finite.sum()))]
        value, low, high = mean_with_ci(values[finite], clusters, self.resamples)
        missing = self._missing(self.roles == "forget", ("method", "twin"))
        self._entry("csdr", value, low, high, int(finite.sum()), f"bootstrap over prompts, {self.resamples} resamples",
                    _one_prompt(clusters),
                    unit="prompt (mean CLIP score of its samples, clamped at 0, as IGMU)",
                    text="IGMU's fixed list joined with '' (--csdr-legacy)" if legacy else
                    "the forget prompt with every concept word removed once",
                    **({"n_missing": missing} if missing else {}), **extra, **info)

    def detectors(self) -> None:
        """person_rate on forget rows and the category judge's retain_accuracy on unrelated rows."""
        forget, unrelated = self.roles == "forget", self.roles == "unrelated"
        if self.scorer.person is not None:
            if forget.any():
                self.mean("person_rate", forget, self.unit_values("method", "person"), ("method",),
                          library=f"ultralytics {version('ultralytics')}", weights=self.scorer.options["yolo"],
                          conf=PARAMETERS["yolo_conf"], iou=PARAMETERS["yolo_iou"], scale="0-1 (IGMU: %)")
            else:
                self.skipped["person_rate"] = "no forget rows among the evaluated units"
        category = self.scorer.category
        if category is None:
            return
        if not unrelated.any():
            self.skipped["retain_accuracy"] = "no unrelated rows among the evaluated units"
            return
        labels = list(category.config["labels"])
        unknown = sorted({u["subclass"] for u, r in zip(self.units, unrelated, strict=True)
                          if r and u.get("subclass") not in labels})
        if unknown:
            self.skipped["retain_accuracy"] = (f"subclass(es) {', '.join(map(str, unknown))} not among the category "
                                               f"judge's labels ({', '.join(labels)}): no expected label")
            return
        expected = np.array([labels.index(u["subclass"]) if r else -1 for u, r in zip(self.units, unrelated,
                                                                                        strict=True)])
        predicted = self.unit_values("method", "category")
        correct = np.where(np.isfinite(predicted), (predicted == expected).astype(float), np.nan)
        self.scorer.columns["retain_correct"] = correct
        self.mean("retain_accuracy", unrelated, correct, ("method",), library="dataigm", weights=category.name,
                  version=category.version)

    def _tidy_skipped(self) -> None:
        """Only reasons for metrics this kind of run defines (a bare folder has flag rates, not
        forget rates; a release run has no *_reference metrics)."""
        if not self.prompts and "forget_rate" in self.skipped:
            self.skipped["flag_rate"] = self.skipped.pop("forget_rate")
        wrong = "release" if not self.prompts else "folder"
        for name in list(self.skipped):
            known = BY_NAME.get(name.split("/")[0])
            if name in self.out or (known is not None and known.runs == wrong):
                del self.skipped[name]

    # -- outputs --------------------------------------------------------------------------------

    def breakdowns(self) -> dict[str, Any]:
        """Per-role, per-subclass and per-kind means of the per-unit columns."""
        subclasses = np.array([u.get("subclass") or "" for u in self.units])
        cols = {f"{j.name}": self.unit_values("method", f"{j.name}/decision") for j in self.scorer.judges}
        cols.update({c: self.scorer.columns[c] for c in ("ssim", "psnr", "lpips_same", "clip_score/method")
                     if c in self.scorer.columns})
        out: dict[str, Any] = {}
        for axis, values in (("role", self.roles), ("subclass", subclasses), ("kind", self.kinds)):
            table: dict[str, Any] = {}
            for group in sorted(set(values) - {""}):
                mask = values == group
                table[group] = {"n": int(mask.sum()), **{
                    name.replace("/method", ""): float(np.nanmean(col[mask]))
                    for name, col in cols.items() if np.isfinite(col[mask]).any()}}
            out[f"by_{axis}"] = table
        return out

    def per_image(self) -> pa.Table:
        """per_image.parquet's table: one row per unit, its images' digests and every per-unit value."""
        from dataigm.eval.units import SIDES

        base: dict[str, list[Any]] = {k: [u.get(k) for u in self.units] for k in (
            "id", "concept", "subclass", "role", "kind", "pair_id", "seed", "prompt", "image_index", "status")}
        base["config"] = [self.spec.get("config")] * len(self.units)
        for side in SIDES:
            base[side] = [u.get(side) for u in self.units]
            base[f"{side}_sha256"] = [u.get(f"{side}_sha256") for u in self.units]
        base["image_sha256"] = base["method_sha256"]
        for judge in self.scorer.judges:
            for side in ("method", "original"):
                for what in ("score", "decision"):
                    base[f"{judge.name}/{side}/{what}"] = self.unit_values(side, f"{judge.name}/{what}").tolist()
        if self.scorer.person is not None:
            base["person/method"] = self.unit_values("method", "person").tolist()
        if self.scorer.category is not None:
            base["category_prediction"] = self.unit_values("method", "category").tolist()
        for name, col in self.scorer.columns.items():
            base[name] = col.tolist()
        return pa.table(base)

    def coverage(self) -> dict[str, Any]:
        """How many units have each image, and how many files matched no unit."""
        return {"units": len(self.units), **{f"with_{s}": int(v.sum()) for s, v in self.has.items()},
                "without_method": int((~self.has["method"]).sum()),
                "unmatched_files": int(self.plan.get("n_unmatched", 0)),
                "reference_only_files": int(self.spec.get("reference_only_files") or 0)}

    def build(self, seconds: float) -> dict[str, Any]:
        """Compute every metric and return summary.json's content."""
        self.judges()
        self.detectors()
        self.paired()
        self.distributions()
        self.alignment()
        self._tidy_skipped()
        coverage = self.coverage()
        if coverage["without_method"]:
            self.warnings.append(f"{coverage['without_method']} of {len(self.units)} unit(s) have no method image "
                                 "(they serve as references and for the original's rates only)")
        if coverage["unmatched_files"]:
            self.warnings.append(f"{coverage['unmatched_files']} file(s) matched no row (--allow-unmatched)")
        ids = [u["id"] for u in self.units]
        return _standard_json({
            "schema_version": SUMMARY_SCHEMA, "method": self.spec["method"], "config": self.spec.get("config"),
            "source": self.spec.get("source"), "revision": self.spec.get("data_revision"),
            "task": self.spec.get("task"), "shape": self.shape,
            "scope": {"config": self.spec.get("config"), "source": self.spec.get("source"),
                      "revision": self.spec.get("data_revision"), "task": self.spec.get("task"),
                      "units": len(ids), "units_digest": units_digest(ids),
                      "curated_only": self.spec.get("curated_only"), "limit": self.spec.get("limit")},
            "metrics": self.out, "skipped": self.skipped, "warnings": self.warnings, "coverage": coverage,
            "breakdowns": self.breakdowns(), "n_rows": len(self.units), "seconds": round(seconds, 1)})


def _standard_json(value: Any) -> Any:
    """`value` with every float that is not finite as None: summary.json is standard JSON (null
    where no value or no interval was computed), which strict readers such as `eval compare`
    (`core.inputs`: no NaN) accept."""
    if isinstance(value, dict):
        return {k: _standard_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_standard_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _one_prompt(clusters: list[str]) -> str | None:
    """Why a bootstrap over prompts gives no interval, when there is one prompt only."""
    return "one prompt only: no interval" if len(set(clusters)) < 2 else None


def _version(lib: str) -> str | None:
    try:
        return version(lib)
    except PackageNotFoundError:
        return None


def write_outputs(out: str, plan: dict[str, Any], summary: dict[str, Any], table: pa.Table,
                  judges: list[Any]) -> None:
    """per_image.parquet, summary.json and manifest.json, each written atomically."""
    store = Store(out)
    store.write_table(layout.RUN_PER_IMAGE, table)
    store.write_json(layout.RUN_SUMMARY, summary)
    spec = plan["config"]
    store.write_json(layout.RUN_MANIFEST, {
        "dataigm_eval": SUMMARY_SCHEMA, "spec": spec, "scoring": plan["scoring"],
        "release": {"source": spec.get("source"), "revision": spec.get("data_revision"), "config": spec.get("config")},
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        **{lib: _version(lib) for lib in ("dataigm", "torch", "diffusers", "transformers",
                                                          "torchmetrics", "torch-fidelity", "nudenet", "ultralytics")}},
        "judges": [{"name": j.name, "version": j.version, "threshold": j.threshold, "rule": decision_rule(j)}
                   for j in judges]})
