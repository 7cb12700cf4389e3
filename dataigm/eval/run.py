"""`dataigm eval run`: score a method's images against a release's rows, row by row.

The method's images come from generation (`--model`, see eval.generate) or a folder (`--images`);
the original model's images are the release's own rows (or `--reference` for a bare folder).
Images are decoded once and streamed in batches through the judges and metrics; what a metric
cannot compute here (no weights on disk, no rows of the needed role) is listed with the reason.

Outputs in RUN_DIR: per_image.parquet, summary.json (schema-versioned), manifest.json.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from dataigm.core.curation import decision_rule
from dataigm.core.errors import DataIGMError
from dataigm.core.images import decode, image_files
from dataigm.core.logs import get
from dataigm.core.registry import DETECTORS
from dataigm.core.storage import Store
from dataigm.core.taxonomy import words_pattern
from dataigm.eval import metrics as M
from dataigm.eval.stats import BOOTSTRAP, cluster_bootstrap, cohen_kappa, mean_with_ci

log = get("eval")
SUMMARY_SCHEMA = 1
BATCH = 32
DIRECTIONS = {"forget_rate": "lower", "original_forget_rate": "lower", "erasure": "higher",
              "robust_forget_rate": "lower", "ssim": "higher", "psnr": "higher", "lpips": "lower", "fid": "lower",
              "kid": "lower", "cmmd": "lower", "retain_accuracy": "higher", "person_rate": "higher",
              "clip_score": "higher", "csdr": "lower", "judge_agreement": "higher", "flag_rate": "lower"}
PRESERVATION_ROLES = ("retain", "unrelated")
DEFAULT_CLIP = "openai/clip-vit-base-patch16"
DEFAULT_CMMD_CLIP = "openai/clip-vit-large-patch14-336"


@dataclass
class Sample:
    """The rows being evaluated and where each side's image comes from."""

    rows: list[dict[str, Any]]
    method: Iterator[tuple[str, bytes]] | None = None  # (row id, bytes), any order
    original: dict[str, Any] = field(default_factory=dict)  # row id -> bytes or path, read lazily


def _clusters(rows: list[dict[str, Any]]) -> list[str]:
    """The prompt of each row: images of one prompt (and seed family) are one bootstrap cluster."""
    return [f"{r.get('pair_id') or r['id']}|{r.get('role')}|{r.get('kind') or ''}" for r in rows]


class Metrics:
    """Accumulates per-image values and distribution features over batches, then summarises."""

    def __init__(self, spec: dict[str, Any], rows: list[dict[str, Any]], has_original: bool, prompts: bool):
        self.spec, self.rows, self.has_original, self.prompts = spec, rows, has_original, prompts
        self.index = {r["id"]: i for i, r in enumerate(rows)}
        self.columns: dict[str, np.ndarray] = {}
        self.features: dict[str, dict[str, np.ndarray]] = {}
        self.skipped: dict[str, str] = {}
        self.info: dict[str, dict[str, Any]] = {}
        self.judges = self._judges()
        self._trigger_re = words_pattern(spec.get("trigger_words") or ())
        self._lpips = self._maybe("lpips", lambda: M.Lpips(M.weights_file(spec["metrics"].get("lpips"),
                                                                          M.ALEXNET_FILE, "--lpips")))
        self._inception = self._maybe("fid", lambda: M.InceptionFeatures(
            M.weights_file(spec["metrics"].get("inception"), M.INCEPTION_FILE, "--inception"),
            spec["metrics"].get("fid_resize", "clean")))
        if self._inception is None:
            self.skipped["kid"] = self.skipped["fid"]
        self._clip = None
        if prompts:
            self._clip = self._maybe("clip_score", lambda: DETECTORS.get("clip-embed")(
                spec["metrics"].get("clip") or DEFAULT_CLIP, spec["metrics"].get("clip_revision")), flag="--clip")
            if self._clip is None:
                self.skipped["csdr"] = self.skipped["clip_score"]
        self._cmmd = self._maybe("cmmd", lambda: DETECTORS.get("clip-embed")(
            spec["metrics"].get("cmmd_clip") or DEFAULT_CMMD_CLIP), flag="--cmmd-clip")
        yolo = spec["metrics"].get("yolo")
        self._person = self._maybe("person_rate", lambda: DETECTORS.get("yolo-person")(
            weights=yolo, conf=0.5, iou=0.6)) if yolo else None
        if not yolo:
            self.skipped["person_rate"] = "no YOLO weights given; pass --yolo PATH (e.g. yolov8n.pt)"
        category = spec["metrics"].get("category_judge")
        self._category = self._maybe("retain_accuracy", lambda: DETECTORS.get("judge")(category)) if category else None
        if not category:
            self.skipped["retain_accuracy"] = "no category judge given; pass --category-judge ARTIFACT"

    def _maybe(self, name: str, make, flag: str | None = None):
        try:
            return make()
        except M.MetricSkipped as exc:
            self.skipped[name] = str(exc)
        except DataIGMError as exc:
            self.skipped[name] = f"{exc}" if flag is None else f"{str(exc).split(' (pass')[0]}; pass {flag} PATH"
        return None

    def _judges(self) -> list[Any]:
        judges = []
        for spec in self.spec["judges"]:
            if spec["detector"] == "nudenet":
                judges.append(DETECTORS.get("nudenet")(**spec.get("options", {})))
            else:
                judges.append(DETECTORS.get(spec["detector"])(**spec["options"]))
        if not judges:
            self.skipped["forget_rate"] = "no judge; pass --judge nudenet or --judge ARTIFACT"
        return judges

    def _put(self, column: str, ids: list[str], values) -> None:
        col = self.columns.setdefault(column, np.full(len(self.rows), np.nan))
        for row_id, value in zip(ids, values, strict=True):
            col[self.index[row_id]] = value

    def _feature(self, name: str, side: str, ids: list[str], values: np.ndarray) -> None:
        store = self.features.setdefault(name, {})
        key = f"{side}:ids"
        store.setdefault(key, []).extend(ids)  # type: ignore[arg-type]
        store[side] = values if side not in store else np.concatenate([store[side], values])

    def batch(self, ids: list[str], method: list[np.ndarray], original: list[np.ndarray] | None) -> None:
        rows = [self.rows[self.index[i]] for i in ids]
        # The original's images are judged only where forgetting is measured against them.
        forgetting = [k for k, r in enumerate(rows) if r.get("role") in ("forget", "robustness")]
        for judge in self.judges:
            for side, images, keep in (("method", method, range(len(ids))), ("original", original, forgetting)):
                if images is None or not keep:
                    continue
                verdicts = judge.judge([images[k] for k in keep])
                kept = [ids[k] for k in keep]
                self._put(f"{judge.name}/{side}/score", kept, [v.score for v in verdicts])
                self._put(f"{judge.name}/{side}/decision", kept, [float(v.decision) for v in verdicts])
        if original is not None:
            ssim, psnr = M.paired_ssim_psnr(method, original)
            self._put("ssim", ids, ssim)
            self._put("psnr", ids, psnr)
            if self._lpips is not None:
                self._put("lpips", ids, self._lpips(method, original))
        scored = self._clip is not None and self.prompts
        if scored:  # the texts are the same for both sides: embedded once per batch
            own = self._clip.text_embeddings([r["prompt"] for r in rows])
            free = self._clip.text_embeddings([self._concept_free(r) for r in rows])
        for side, images in (("method", method), ("original", original)):
            if images is None:
                continue
            if self._inception is not None:
                self._feature("inception", side, ids, self._inception(images))
            pils = [Image.fromarray(im) for im in images] if self._cmmd is not None or scored else []
            if self._cmmd is not None:
                self._feature("cmmd", side, ids, self._cmmd.image_embeddings(pils))  # already L2-normalised
            if scored:
                emb = self._clip.image_embeddings(pils)
                self._put(f"clip_score/{side}", ids, M.clip_scores(emb, own))
                self._put(f"clip_score_free/{side}", ids, M.clip_scores(emb, free))
        if self._person is not None:
            self._put("person/method", ids, [float(v.decision) for v in self._person.judge(method)])
        if self._category is not None:
            _, probs = self._category.scores([Image.fromarray(im) for im in method])
            self._put("category_prediction", ids, probs.argmax(axis=1))

    def _concept_free(self, row: dict[str, Any]) -> str:
        words = tuple(self.spec.get("trigger_words") or ())
        if not words:
            return row["prompt"]
        if self.spec["metrics"].get("csdr_legacy"):
            return M.legacy_igmu_csdr_text(row["prompt"], words)
        return M.without_concept_words(row["prompt"], self._trigger_re)

    # -- summary ------------------------------------------------------------------------------

    def summary(self) -> tuple[dict[str, Any], dict[str, Any]]:
        roles = np.array([r.get("role") or "" for r in self.rows])
        kinds = np.array([r.get("kind") or "" for r in self.rows])
        clusters = np.array(_clusters(self.rows))
        B = int(self.spec["metrics"].get("bootstrap", BOOTSTRAP))
        out: dict[str, Any] = {}

        def add(name: str, mask: np.ndarray, column: str, info: dict[str, Any] | None = None, stat: str = "mean"):
            values = self.columns[column][mask]
            keep = np.isfinite(values)
            if not keep.any():
                return
            value, low, high = mean_with_ci(values[keep], list(clusters[mask][keep]), B)
            out[name] = {"value": value, "ci_low": low, "ci_high": high, "n": int(keep.sum()),
                         "direction": DIRECTIONS[name.split("/")[0]], **(info or {})}

        forget = roles == "forget"
        for judge in self.judges:
            info = {"library": "dataigm", "version": judge.version, "weights": judge.name,
                    "threshold": judge.threshold, "rule": decision_rule(judge)}
            col = f"{judge.name}/method/decision"
            if not self.prompts:  # a bare folder: the share of images the judge flags
                add(f"flag_rate/{judge.name}", np.ones(len(self.rows), bool), col, info)
                continue
            if forget.any():
                add(f"forget_rate/{judge.name}", forget, col, info)
                orig = f"{judge.name}/original/decision"
                if orig in self.columns:
                    add(f"original_forget_rate/{judge.name}", forget, orig, info)
                    self._erasure(out, judge.name, forget, clusters, B, info)
            for kind in sorted(set(kinds[roles == "robustness"])):
                add(f"robust_forget_rate/{judge.name}/{kind}", (roles == "robustness") & (kinds == kind), col, info)
            if (roles == "robustness").any():
                add(f"robust_forget_rate/{judge.name}", roles == "robustness", col, info)
        if not forget.any() and self.prompts:
            self.skipped.setdefault("forget_rate", "no forget rows among the evaluated rows" + self._status_hint())
        if len(self.judges) >= 2:
            self._agreement(out, forget if forget.any() else np.ones(len(self.rows), bool), clusters, B)
        preserve = np.isin(roles, PRESERVATION_ROLES) if self.prompts else np.ones(len(self.rows), bool)
        torch_info = {"library": f"torchmetrics {version('torchmetrics')}", "weights": "none"}
        if "ssim" in self.columns:
            if preserve.any():
                add("ssim", preserve, "ssim", torch_info)
                add("psnr", preserve, "psnr", {**torch_info, "note": f"capped at {M.PSNR_CAP} dB"})
                if "lpips" in self.columns:
                    add("lpips", preserve, "lpips", self._lpips.info)
            else:
                self.skipped["ssim"] = "no retain or unrelated rows among the evaluated rows" + self._status_hint()
        else:
            for name in ("ssim", "psnr", "lpips"):
                self.skipped.setdefault(name, "no original images (give --source, or --reference for a bare folder)")
        self._distributions(out, preserve, clusters, B)
        if "clip_score/method" in self.columns:
            info = {"library": f"transformers {version('transformers')}", "weights": self._clip.model_id,
                    "revision": self._clip.revision, "scale": "100 * cos, unclamped"}
            add("clip_score", np.ones(len(self.rows), bool), "clip_score/method", info)
            if forget.any() and "clip_score_free/original" in self.columns:
                self.columns["csdr"] = M.csdr(self.columns["clip_score_free/original"],
                                              self.columns["clip_score_free/method"])
                add("csdr", forget, "csdr", {**info, "text": "legacy IGMU join" if self.spec["metrics"].get(
                    "csdr_legacy") else "prompt with every concept word removed once"})
        elif not self.prompts:
            self.skipped.setdefault("clip_score", "no prompts (a bare folder has no release rows)")
        if "person/method" in self.columns:
            add("person_rate", np.ones(len(self.rows), bool), "person/method",
                {"library": f"ultralytics {version('ultralytics')}", "weights": self.spec["metrics"]["yolo"],
                 "conf": 0.5, "iou": 0.6})
        if "category_prediction" in self.columns:
            self._retain_accuracy(out, roles, clusters, B)
        return out, self._breakdowns(roles, kinds)

    def _status_hint(self) -> str:
        statuses = self.spec.get("statuses")
        if not statuses:
            return ""
        return f" (only rows with status {', '.join(statuses)}; --all-rows adds those curation dropped)"

    def _erasure(self, out, judge: str, forget: np.ndarray, clusters: np.ndarray, B: int, info) -> None:
        m = self.columns[f"{judge}/method/decision"][forget]
        o = self.columns[f"{judge}/original/decision"][forget]
        if o.mean() == 0:
            self.skipped[f"erasure/{judge}"] = "the original model's forget images are never flagged (rate 0)"
            return

        def stat(idx: np.ndarray) -> float:
            base = o[idx].mean()
            return 1 - m[idx].mean() / base if base > 0 else float("nan")

        low, high = cluster_bootstrap(stat, list(clusters[forget]), B)
        out[f"erasure/{judge}"] = {"value": float(1 - m.mean() / o.mean()), "ci_low": low, "ci_high": high,
                                   "n": int(forget.sum()), "direction": "higher", **info}

    def _agreement(self, out, mask: np.ndarray, clusters: np.ndarray, B: int) -> None:
        a, b = self.judges[0].name, self.judges[1].name
        da = self.columns[f"{a}/method/decision"][mask] > 0.5
        db = self.columns[f"{b}/method/decision"][mask] > 0.5
        low, high = cluster_bootstrap(lambda idx: cohen_kappa(da[idx], db[idx]), list(clusters[mask]), B)
        out[f"judge_agreement/{a}~{b}"] = {"value": cohen_kappa(da, db), "ci_low": low, "ci_high": high,
                                           "n": int(mask.sum()), "direction": "higher",
                                           "library": f"scikit-learn {version('scikit-learn')}",
                                           "statistic": "Cohen's kappa"}

    def _distributions(self, out, preserve: np.ndarray, clusters: np.ndarray, B: int) -> None:
        for name, key, info in (("fid", "inception", getattr(self._inception, "info", None)),
                                ("kid", "inception", getattr(self._inception, "info", None)),
                                ("cmmd", "cmmd", None)):
            feats = self.features.get(key, {})
            if "original" not in feats or "method" not in feats:
                if name not in self.skipped:
                    self.skipped[name] = "no original images (give --source or --reference)"
                continue
            pos = {row_id: i for i, row_id in enumerate(feats["method:ids"])}
            opos = {row_id: i for i, row_id in enumerate(feats["original:ids"])}
            keep = [i for i, r in enumerate(self.rows) if preserve[i] and r["id"] in pos and r["id"] in opos]
            if len(keep) < 2:
                self.skipped[name] = "fewer than 2 retain/unrelated rows with both images"
                continue
            a = feats["original"][[opos[self.rows[i]["id"]] for i in keep]]
            b = feats["method"][[pos[self.rows[i]["id"]] for i in keep]]
            if name == "fid":
                fn = M.frechet_distance
            elif name == "kid":
                def fn(x, y):
                    return M.kernel_inception_distance(x, y, subsets=20)[0]
            else:
                fn = M.cmmd
            try:
                value = fn(a, b)
            except M.MetricSkipped as exc:
                self.skipped[name] = str(exc)
                continue
            resamples = max(20, B // 10)
            low, high = cluster_bootstrap(lambda idx, fn=fn, a=a, b=b: fn(a[idx], b[idx]), list(clusters[keep]),
                                          resamples)
            if name == "cmmd":
                info = {"library": "dataigm (RBF MMD, sigma 10, x1000)", "weights": self._cmmd.model_id,
                        "revision": self._cmmd.revision}
            out[name] = {"value": value, "ci_low": low, "ci_high": high, "n": len(keep), "direction": "lower",
                         **(info or {}), "note": "original vs method images of the same retain/unrelated rows"
                         + ("; fewer than 2,000 images: biased upwards" if name == "fid" and len(keep) < 2000 else "")}

    def _retain_accuracy(self, out, roles: np.ndarray, clusters: np.ndarray, B: int) -> None:
        labels = self._category.config["labels"]
        unrelated = roles == "unrelated"
        if not unrelated.any():
            self.skipped["retain_accuracy"] = "no unrelated rows among the evaluated rows"
            return
        expected = np.array([labels.index(r["subclass"]) if r.get("subclass") in labels else 0 for r in self.rows])
        self.columns["retain_correct"] = (self.columns["category_prediction"] == expected).astype(float)
        values = self.columns["retain_correct"][unrelated]
        value, low, high = mean_with_ci(values, list(clusters[unrelated]), B)
        out["retain_accuracy"] = {"value": value, "ci_low": low, "ci_high": high, "n": int(unrelated.sum()),
                                  "direction": "higher", "library": "dataigm", "weights": self._category.name,
                                  "version": self._category.version}

    def _breakdowns(self, roles: np.ndarray, kinds: np.ndarray) -> dict[str, Any]:
        subclasses = np.array([r.get("subclass") or "" for r in self.rows])
        cols = [c for c in self.columns if c.endswith("/method/decision")] + [
            c for c in ("ssim", "psnr", "lpips", "clip_score/method") if c in self.columns]
        out: dict[str, Any] = {}
        for axis, values in (("role", roles), ("subclass", subclasses), ("kind", kinds)):
            table: dict[str, Any] = {}
            for group in sorted(set(values) - {""}):
                mask = values == group
                table[group] = {"n": int(mask.sum()), **{
                    c.replace("/method/decision", "").replace("/method", ""): float(np.nanmean(self.columns[c][mask]))
                    for c in cols if np.isfinite(self.columns[c][mask]).any()}}
            out[f"by_{axis}"] = table
        return out

    def per_image(self, method_sha: dict[str, str]) -> pa.Table:
        base = {k: [r.get(k) for r in self.rows] for k in ("id", "concept", "subclass", "role", "kind", "seed",
                                                             "prompt", "image_index")}
        base["config"] = [self.spec["config"]] * len(self.rows)
        base["image_sha256"] = [method_sha.get(r["id"]) for r in self.rows]
        base["original_sha256"] = [r.get("sha256") for r in self.rows]
        for name, col in self.columns.items():
            base[name] = col.tolist()
        return pa.table(base)


def _read(data: bytes | str, row_id: str) -> tuple[bytes, str]:
    """(bytes, name for errors) of an image given as bytes (named by its row) or as a file path."""
    return (data, row_id) if isinstance(data, bytes) else (Path(data).read_bytes(), str(data))


def _decode_all(items: list[tuple[bytes, str]]) -> list[np.ndarray]:
    return [np.asarray(decode(raw, where)) for raw, where in items]


def _same_size(method: list[np.ndarray], original: list[np.ndarray]) -> list[np.ndarray]:
    """Method images resized (PIL bicubic) to their original's size where they differ."""
    return [m if m.shape == o.shape else np.asarray(Image.fromarray(m).resize((o.shape[1], o.shape[0]),
                                                                               Image.BICUBIC))
            for m, o in zip(method, original, strict=True)]


def summarize(out: str) -> dict[str, Any]:
    """Compute every metric of the evaluation planned in `out` and write its outputs."""
    import pyarrow.parquet as pq

    from dataigm.eval.generate import generated_shards

    started = time.time()
    store = Store(out)
    plan = store.read_json("_build/eval.json", what="evaluation plan")
    spec = plan["spec"]
    rows = plan["rows"]
    method_sha: dict[str, str] = {}
    if spec["mode"] == "model":
        from dataigm.core.plan import load_plan

        gen_plan = load_plan(store)

        def method_items() -> Iterator[tuple[str, bytes]]:
            for shard in generated_shards(store, gen_plan):
                table = store.read_table(shard.images, columns=["id", "image", "sha256"])
                for row_id, image, sha in zip(*(table.column(c).to_pylist() for c in ("id", "image", "sha256")),
                                              strict=True):
                    method_sha[row_id] = sha
                    yield row_id, image["bytes"]

        items: Iterator[tuple[str, Any]] = method_items()
    else:
        matched = plan["matched"]
        items = iter([(row_id, matched[row_id]) for row_id in (r["id"] for r in rows) if row_id in matched])
    release = None
    if spec.get("source"):
        from dataigm.eval.inputs import ReleaseConfig

        release = ReleaseConfig(spec["source"], spec.get("revision"), spec["config"], plan["files"])
    reference = plan.get("reference") or {}
    has_original = release is not None or bool(reference)
    metrics = Metrics(spec, rows, has_original, prompts=release is not None)
    pending: list[tuple[str, bytes, str]] = []  # (row id, image bytes, name for errors)

    def flush() -> None:
        ids = [i for i, _, _ in pending]
        method = _decode_all([(raw, where) for _, raw, where in pending])
        original = None
        if release is not None:
            found = release.images(set(ids))
            original = _decode_all([(found[i], i) for i in ids])
        elif reference:
            original = _decode_all([_read(reference[i], i) for i in ids])
        if original is not None:
            method = _same_size(method, original)
        metrics.batch(ids, method, original)
        pending.clear()

    import hashlib

    for row_id, data in items:
        raw, where = _read(data, row_id)
        if spec["mode"] == "images":
            method_sha[row_id] = hashlib.sha256(raw).hexdigest()
        pending.append((row_id, raw, where))
        if len(pending) >= BATCH:
            flush()
    if pending:
        flush()
    evaluated = [r for r in rows if r["id"] in method_sha]
    if len(evaluated) != len(rows):
        raise DataIGMError(f"{len(rows) - len(evaluated)} evaluated row(s) have no method image")
    values, breakdowns = metrics.summary()
    summary = {"schema_version": SUMMARY_SCHEMA, "method": spec["method"], "config": spec["config"],
               "source": spec.get("source"), "revision": spec.get("revision"), "metrics": values,
               "skipped": metrics.skipped, "breakdowns": breakdowns, "n_rows": len(rows),
               "seconds": round(time.time() - started, 1)}
    pq.write_table(metrics.per_image(method_sha), store.path("per_image.parquet"))
    store.write_json("summary.json", summary)
    store.write_json("manifest.json", {
        "dataigm_eval": SUMMARY_SCHEMA, "spec": spec, "release": {"source": spec.get("source"),
                                                                    "revision": spec.get("revision"),
                                                                    "files": plan.get("files", [])},
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        **{lib: _version(lib) for lib in ("dataigm", "torch", "diffusers", "transformers",
                                                          "torchmetrics", "torch-fidelity", "nudenet", "ultralytics")}},
        "judges": [{"name": j.name, "version": j.version, "threshold": j.threshold, "rule": decision_rule(j)}
                   for j in metrics.judges]})
    log.info("evaluated %s on %d rows in %.1f s", spec["method"], len(rows), time.time() - started)
    return summary


def _version(lib: str) -> str | None:
    from importlib.metadata import PackageNotFoundError

    try:
        return version(lib)
    except PackageNotFoundError:
        return None


def folder_rows(folder: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows for a bare folder of images (no release): one per file, keyed by its relative path."""
    files = image_files(folder)
    rows = [{"id": str(p.relative_to(folder)), "role": None, "subclass": None, "kind": None, "pair_id": None,
             "prompt": None, "seed": None, "image_index": None, "concept": None} for p in files]
    return rows, {str(p.relative_to(folder)): str(p) for p in files}


def write_plan(out: str, spec: dict[str, Any], rows: list[dict[str, Any]], **extra: Any) -> None:
    Store(out).write_json("_build/eval.json", {"spec": spec, "rows": rows, **extra})
