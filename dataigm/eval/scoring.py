"""Scoring the units of a planned evaluation: every image is read and decoded once, judged and
embedded once (images are keyed by their sha256, so an original that is also a twin, or a
method that is the original, is not scored twice), and paired metrics are computed per unit.
What a metric cannot compute here (no weights on disk) is recorded with the flag that fixes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dataigm.core.defaults import default_model
from dataigm.core.errors import DataIGMError
from dataigm.core.images import decode
from dataigm.core.registry import DETECTORS, EMBEDDERS, JudgeSpec
from dataigm.core.storage import Store
from dataigm.core.taxonomy import words_pattern
from dataigm.eval import metrics as M
from dataigm.eval.definitions import PARAMETERS
from dataigm.eval.units import SIDES

BATCH = 32
PRESERVATION_ROLES = ("retain", "unrelated")


class ImageSource:
    """The bytes behind the locators of a run's units: files (checked against the digest the plan
    recorded), the release's rows, and the generation shards of this run."""

    def __init__(self, out: str, plan: dict[str, Any], units: list[dict[str, Any]]):
        self.store, self.plan = Store(out), plan
        spec = plan["config"]
        self.release = None
        if spec.get("source"):
            from dataigm.eval.release import ReleaseConfig
            from dataigm.hub.loading import config_files

            self.release = ReleaseConfig(spec["source"], spec.get("data_revision"), spec["config"],
                                         config_files(spec["config"], spec["source"], spec.get("data_revision")))
        self.expected = {u[side][5:]: u[f"{side}_sha256"] for u in units for side in SIDES
                         if (u.get(side) or "").startswith("file:")}
        self._shard_of: dict[str, Any] = {}
        if spec["mode"] == "model":
            from dataigm.eval.generate import generated_shards

            shards = generated_shards(self.store, plan)
            for k, unit in enumerate(units):
                self._shard_of[unit["id"]] = shards[k // spec["shard_size"]]
        self._shard: tuple[Any, dict[str, tuple[bytes, str]]] = (None, {})

    def _generated(self, row_id: str) -> tuple[bytes, str]:
        shard = self._shard_of[row_id]
        if self._shard[0] != shard:
            table = self.store.read_table(shard.images, columns=["id", "image", "sha256"])
            self._shard = (shard, {i: (img["bytes"], sha) for i, img, sha in zip(
                *(table.column(c).to_pylist() for c in ("id", "image", "sha256")), strict=True)})
        return self._shard[1][row_id]

    def fetch(self, locators: set[str]) -> dict[str, tuple[bytes, str]]:
        """locator -> (bytes, sha256)."""
        out: dict[str, tuple[bytes, str]] = {}
        wanted = {loc[8:] for loc in locators if loc.startswith("release:")}
        found = self.release.images(wanted) if wanted and self.release is not None else {}
        for loc in locators:
            kind, _, name = loc.partition(":")
            if kind == "file":
                try:
                    raw = Path(name).read_bytes()
                except OSError as exc:
                    raise DataIGMError(f"{name}: cannot read ({exc.strerror})") from None
                sha = hashlib.sha256(raw).hexdigest()
                if self.expected.get(name) not in (None, sha):
                    raise DataIGMError(f"{name} changed after the run was planned; rerun into a new --out")
                out[loc] = (raw, sha)
            elif kind == "release":
                if name not in found:
                    raise DataIGMError(f"{self.plan['config']['source']}: row {name} has no image")
                out[loc] = (found[name], hashlib.sha256(found[name]).hexdigest())
            else:
                out[loc] = self._generated(name)
        return out


def needs(unit: dict[str, Any], side: str, shape: str | None) -> set[str]:
    """What is computed on a unit's image of `side` (judge, person, category, inception, cmmd, clip)."""
    role = unit.get("role")
    if role is None:  # a bare folder
        return {"judge", "inception", "cmmd"} if side == "method" else {"inception", "cmmd"}
    if side == "twin":
        return {"inception", "cmmd", "clip"}
    if side == "original":
        return {"judge"} if role in ("forget", "robustness") else {"inception", "cmmd"}
    found = {"judge"}
    if role == "forget":
        found |= {"person"} | ({"inception", "cmmd", "clip"} if shape == "attribute" else set())
    elif role in PRESERVATION_ROLES:
        found |= {"inception", "cmmd", "clip"} | ({"category"} if role == "unrelated" else set())
    return found


class Scorer:
    """Judges, models and per-unit columns of one run."""

    def __init__(self, plan: dict[str, Any], units: list[dict[str, Any]]):
        from dataigm.stages.models import quiet_libraries

        quiet_libraries()  # no loading bars from transformers: dataigm's own bar says what runs
        spec, scoring = plan["config"], plan["scoring"]
        self.spec, self.units, self.options = spec, units, scoring["metrics"]
        self.shape, self.prompts = spec.get("shape"), spec.get("source") is not None
        self.skipped: dict[str, str] = {}
        self.columns: dict[str, np.ndarray] = {}
        self.values: dict[str, dict[str, float]] = {}  # per image (sha): judge/<name>/score, person, category
        self.features: dict[str, dict[str, np.ndarray]] = {"inception": {}, "cmmd": {}, "clip": {}}
        self._done: dict[str, set[str]] = {}
        self.judges = [_load(s) for s in scoring["judges"]]
        if not self.judges:
            self.skipped["forget_rate"] = "no judge; pass --judge nudenet or --judge ARTIFACT"
        self._trigger_re = words_pattern(scoring.get("trigger_words") or ())
        self.trigger_words = tuple(scoring.get("trigger_words") or ())
        opts = self.options
        self.lpips = self._maybe("lpips", lambda: M.Lpips(M.weights_file(opts.get("lpips"), M.ALEXNET_FILE, "--lpips")))
        self.inception = self._maybe("fid", lambda: M.InceptionFeatures(
            M.weights_file(opts.get("inception"), M.INCEPTION_FILE, "--inception"), opts.get("fid_resize") or "clean"))
        # CLIP score, CSDR and CMMD embed in fp32 (the embedder's default): metric values do not
        # depend on the hardware's precision.
        self.clip = None
        if self.prompts:
            self.clip = self._maybe("clip_score", lambda: EMBEDDERS.get("clip")(
                opts.get("clip") or default_model("clip-score"), opts.get("clip_revision")), flag="--clip")
        self.cmmd = self._maybe("cmmd", lambda: EMBEDDERS.get("clip")(
            opts.get("cmmd_clip") or default_model("cmmd")), flag="--cmmd-clip")
        yolo = opts.get("yolo")
        self.person = self._maybe("person_rate", lambda: DETECTORS.get("yolo-person")(
            weights=yolo, conf=PARAMETERS["yolo_conf"], iou=PARAMETERS["yolo_iou"])) if yolo else None
        if not yolo:
            self.skipped["person_rate"] = "no YOLO weights given; pass --yolo PATH (e.g. yolov8n.pt)"
        category = scoring.get("category_judge")
        self.category = self._maybe("retain_accuracy", lambda: _load(category)) if category else None
        if not category:
            self.skipped["retain_accuracy"] = "no category judge given; pass --category-judge ARTIFACT"
        self.index = {u["id"]: k for k, u in enumerate(units)}

    def _maybe(self, name: str, make, flag: str | None = None):
        try:
            return make()
        except M.MetricSkipped as exc:
            self.skipped[name] = str(exc)
        except DataIGMError as exc:
            self.skipped[name] = f"{exc}" if flag is None else f"{str(exc).split(' (pass')[0]}; pass {flag} PATH"
        return None

    def put(self, column: str, k: int, value: float) -> None:
        """Set unit `k`'s value in a per-unit column (NaN where never set)."""
        self.columns.setdefault(column, np.full(len(self.units), np.nan))[k] = value

    # -- per image ------------------------------------------------------------------------------

    def _images(self, wanted: dict[str, set[str]], pixels: dict[str, np.ndarray]) -> None:
        """Compute what is wanted of each image (sha -> needs) that was not computed before."""
        todo: dict[str, list[str]] = {}
        for sha, what in wanted.items():
            done = self._done.setdefault(sha, set())
            for need in sorted(what - done):
                todo.setdefault(need, []).append(sha)
            done |= what
        for judge in self.judges if todo.get("judge") else ():
            verdicts = judge.judge([pixels[s] for s in todo["judge"]])
            for sha, v in zip(todo["judge"], verdicts, strict=True):
                self.values.setdefault(sha, {})[f"{judge.name}/score"] = v.score
                self.values[sha][f"{judge.name}/decision"] = float(v.decision)
        if self.person is not None and todo.get("person"):
            for sha, v in zip(todo["person"], self.person.judge([pixels[s] for s in todo["person"]]), strict=True):
                self.values.setdefault(sha, {})["person"] = float(v.decision)
        if self.category is not None and todo.get("category"):
            _, probs = self.category.scores([Image.fromarray(pixels[s]) for s in todo["category"]])
            for sha, label in zip(todo["category"], probs.argmax(axis=1), strict=True):
                self.values.setdefault(sha, {})["category"] = float(label)
        for name, model in (("inception", self.inception), ("cmmd", self.cmmd), ("clip", self.clip)):
            shas = todo.get(name)
            if model is None or not shas:
                continue
            if name == "inception":
                vectors = model([pixels[s] for s in shas])
            else:
                vectors = model.image_embeddings([Image.fromarray(pixels[s]) for s in shas])
            for sha, vector in zip(shas, vectors, strict=True):
                self.features[name][sha] = np.asarray(vector, np.float32)

    # -- per unit -------------------------------------------------------------------------------

    def concept_free(self, prompt: str) -> str:
        """CSDR's text: the prompt without its concept words, or IGMU's exact text (--csdr-legacy)."""
        if self.options.get("csdr_legacy"):
            return M.legacy_igmu_csdr_text(prompt)
        return M.without_concept_words(prompt, self._trigger_re)

    def batch(self, batch: list[dict[str, Any]], images: dict[str, tuple[bytes, str]]) -> None:
        """Score one batch of units given their images (locator -> (bytes, sha256)): per-image values
        once per distinct image, then the paired metrics and CLIP scores of each unit."""
        shas = {loc: sha for loc, (_, sha) in images.items()}
        pixels: dict[str, np.ndarray] = {}
        for loc, (raw, sha) in images.items():
            if sha not in pixels:
                pixels[sha] = np.asarray(decode(raw, loc.partition(":")[2]))
        wanted: dict[str, set[str]] = {}
        for unit in batch:
            for side in SIDES:
                if unit.get(side):
                    wanted.setdefault(shas[unit[side]], set()).update(needs(unit, side, self.shape))
        self._images(wanted, pixels)
        same, twin = [], []
        for unit in batch:
            k = self.index[unit["id"]]
            for side in SIDES:
                if unit.get(side):
                    self.units[k][f"{side}_sha256"] = shas[unit[side]]
            if unit.get("method") and unit.get("original") and (unit.get("role") in PRESERVATION_ROLES
                                                                 or unit.get("role") is None):
                same.append((k, pixels[shas[unit["method"]]], pixels[shas[unit["original"]]]))
            if unit.get("method") and unit.get("twin") and unit.get("role") == "forget":
                twin.append((k, pixels[shas[unit["method"]]], pixels[shas[unit["twin"]]]))
        self._paired(same, twin)
        if self.clip is not None:
            self._clip_scores(batch, shas)

    def _paired(self, same: list[tuple[int, np.ndarray, np.ndarray]],
                twin: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        for pairs, suffix in ((same, "same"), (twin, "twin")):
            if not pairs:
                continue
            ks = [k for k, _, _ in pairs]
            method = _same_size([m for _, m, _ in pairs], [o for _, _, o in pairs])
            original = [o for _, _, o in pairs]
            if suffix == "same":
                ssim, psnr = M.paired_ssim_psnr(method, original)
                for k, s, p in zip(ks, ssim, psnr, strict=True):
                    self.put("ssim", k, s)
                    self.put("psnr", k, p)
            if self.lpips is not None:
                for k, value in zip(ks, self.lpips(method, original), strict=True):
                    self.put(f"lpips_{suffix}", k, value)

    def _clip_scores(self, batch: list[dict[str, Any]], shas: dict[str, str]) -> None:
        own = [u for u in batch if u.get("method") and u.get("role") in PRESERVATION_ROLES and u.get("prompt")]
        free = [u for u in batch if u.get("method") and u.get("twin") and u.get("role") == "forget"
                and self.shape == "attribute" and u.get("prompt")]
        if own:
            texts = self.clip.text_embeddings([u["prompt"] for u in own])
            images = np.stack([self.features["clip"][shas[u["method"]]] for u in own])
            for u, score in zip(own, M.clip_scores(images, texts), strict=True):
                self.put("clip_score/method", self.index[u["id"]], score)
        if free and (self.trigger_words or self.options.get("csdr_legacy")):
            texts = self.clip.text_embeddings([self.concept_free(u["prompt"]) for u in free])
            for side in ("method", "twin"):
                images = np.stack([self.features["clip"][shas[u[side]]] for u in free])
                for u, score in zip(free, M.clip_scores(images, texts), strict=True):
                    self.put(f"csdr_text/{side}", self.index[u["id"]], score)

    def image_value(self, unit: dict[str, Any], side: str, name: str) -> float:
        """A per-image value (a judge's score or decision, person, category) of a unit's `side` image;
        NaN where the unit has no such image."""
        sha = unit.get(f"{side}_sha256")
        return self.values.get(sha, {}).get(name, np.nan) if unit.get(side) and sha else np.nan


def _load(spec: dict[str, Any]):
    """The detector of a judge spec as the plan recorded it (`JudgeSpec.as_json`)."""
    return JudgeSpec(spec["detector"], spec.get("options") or {}).load()


def _same_size(method: list[np.ndarray], reference: list[np.ndarray]) -> list[np.ndarray]:
    """Method images resized (PIL bicubic) to their reference's size where they differ."""
    return [m if m.shape == o.shape else np.asarray(Image.fromarray(m).resize((o.shape[1], o.shape[0]),
                                                                               Image.BICUBIC))
            for m, o in zip(method, reference, strict=True)]


def batches(units: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """Consecutive slices of `size` units."""
    for start in range(0, len(units), size):
        yield units[start : start + size]


def score(out: str, plan: dict[str, Any], units: list[dict[str, Any]], progress: bool = False) -> Scorer:
    """Read, decode and score every unit of the run in batches."""
    from tqdm.auto import tqdm

    source = ImageSource(out, plan, units)
    scorer = Scorer(plan, units)
    with tqdm(total=len(units), unit="unit", desc=f"score {plan['config']['method']}", disable=not progress) as bar:
        for batch in batches(units):
            scorer.batch(batch, source.fetch({u[s] for u in batch for s in SIDES if u.get(s)}))
            bar.update(len(batch))
    return scorer


def unit_images(out: str, ids: set[str]) -> dict[str, dict[str, bytes]]:
    """The images of some units of a finished run, by side ("method", "original") and unit id."""
    from dataigm.eval.plan import read_plan, read_units

    plan, units = read_plan(out), read_units(out)
    source = ImageSource(out, plan, units)
    chosen = [u for u in units if u["id"] in ids]
    found = source.fetch({u[s] for u in chosen for s in ("method", "original") if u.get(s)})
    return {side: {u["id"]: found[u[side]][0] for u in chosen if u.get(side)} for side in ("method", "original")}
