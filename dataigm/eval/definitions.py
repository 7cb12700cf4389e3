"""What every evaluation metric measures, as one table: the rows it uses (role, side), the image it
is compared against, the judge or model, and its direction. README's metric table is rendered from
it (`markdown_table`, checked by a test) and every summary.json entry carries its own line.

The defaults are the public IGMU benchmark's definitions (benchmark.py), under IGMU's names in the
`igmu` column; a metric computed on other rows is another metric and has another name
(`fid_retain`, `lpips_retain`, ...). Terms: a *unit* is one image slot (a row and its sample k);
*method* is the unlearned model's image, *original* the original model's image of the same unit,
*twin* the original's image of the forget row's retain twin (same pair, same sample: IGMU's
`remove_word/ORG/i_j_k.png`). Attribute concepts (nudity, styles) have twins; entity concepts
(objects) have unrelated rows instead.

Eval's own parameters (the person check's confidence and IoU, the resamples and jackknife groups
of the intervals) live here too, in PARAMETERS; the models it falls back to come from the project's
one default-model table (`dataigm.core.defaults`: roles "clip-score" and "cmmd").
"""

from __future__ import annotations

from dataclasses import dataclass

PARAMETERS = {
    "yolo_conf": 0.5,  # IGMU's person check
    "yolo_iou": 0.6,
    "bootstrap": 1000,  # clustered bootstrap resamples for per-image metrics
    "jackknife_groups": 20,  # delete-a-group jackknife for set metrics (FID, KID, CMMD)
}


@dataclass(frozen=True)
class Definition:
    """One metric: rows used, reference image, judge/model, direction, and IGMU's name for it.
    Where entity concepts use other rows or another reference, `entity` holds (rows, reference)."""

    name: str
    igmu: str  # IGMU's name ("" when IGMU has no such metric)
    rows: str
    reference: str
    model: str
    direction: str
    runs: str = "release"  # release: runs with prompt rows; folder: bare folders; both
    entity: tuple[str, str] | None = None

    def entry(self, shape: str | None) -> dict[str, str | None]:
        """The definition fields a summary.json entry carries (rows/reference for this shape)."""
        rows, reference = self.entity if shape == "entity" and self.entity else (self.rows, self.reference)
        return {"rows": rows, "reference": reference, "igmu": self.igmu or None}

    def cells(self) -> tuple[str, str]:
        """The table's rows and reference cells (the entity variant appended where there is one)."""
        if not self.entity:
            return self.rows, self.reference
        return f"{self.rows}; entity: {self.entity[0]}", f"{self.reference}; entity: {self.entity[1]}"


_TWIN = "twin: the original's retain twin, same pair and sample (remove_word/ORG)"
_UNRELATED = ("unrelated (method)", "original, same row (unrelated/ORG)")
_UNRELATED_PAIRED = ("unrelated (method), paired", "original, same row (unrelated/ORG)")

DEFINITIONS: tuple[Definition, ...] = (
    Definition("forget_rate/<judge>", "forgetting ('accuracy', see deviations)", "forget (method), every row", "none",
               "the judge (--judge; default: the release's concept check)", "lower"),
    Definition("forget_rate_flagged/<judge>", "", "forget (method) whose original the judge flags", "none",
               "the judge", "lower"),
    Definition("original_forget_rate/<judge>", "forgetting of ORG", "forget (original)", "none", "the judge",
               "lower"),
    Definition("erasure/<judge>", "", "forget (method and original)", "1 − FR(method)/FR(original), same rows",
               "the judge", "higher"),
    Definition("robust_forget_rate/<judge>[/<kind>]", "", "robustness (method)", "none", "the judge", "lower"),
    Definition("fid", "FID", "forget (method)", _TWIN, "Inception-v3 pool features (--inception), clean resize",
               "lower", entity=_UNRELATED),
    Definition("kid", "", "forget (method)", _TWIN, "Inception-v3 (--inception)", "lower", entity=_UNRELATED),
    Definition("cmmd", "", "forget (method)", _TWIN, "CLIP ViT-L/14-336 (--cmmd-clip)", "lower", entity=_UNRELATED),
    Definition("lpips", "LPIPS", "forget (method), paired", _TWIN, "AlexNet LPIPS (--lpips)", "lower",
               entity=_UNRELATED_PAIRED),
    Definition("csdr", "CSDR", "forget prompts (method; a prompt's samples together)",
               "twin images of the same prompt; text: the forget prompt without its concept words",
               "CLIP ViT-B/16 (--clip)", "lower", entity=("not defined", "no twin")),
    Definition("person_rate", "YOLO (person detected, %)", "forget (method)", "none",
               "YOLOv8n person, conf 0.5, IoU 0.6 (--yolo)", "higher"),
    Definition("fid_retain", "", "retain and unrelated (method)", "original, same row", "Inception-v3 (--inception)",
               "lower"),
    Definition("kid_retain", "", "retain and unrelated (method)", "original, same row", "Inception-v3 (--inception)",
               "lower"),
    Definition("cmmd_retain", "", "retain and unrelated (method)", "original, same row",
               "CLIP ViT-L/14-336 (--cmmd-clip)", "lower"),
    Definition("lpips_retain", "", "retain and unrelated (method), paired", "original, same row",
               "AlexNet LPIPS (--lpips)", "lower"),
    Definition("ssim", "", "retain and unrelated (method), paired; bare folder: every file", "original, same row; "
               "bare folder: the --reference file of the same name", "none (torchmetrics' definition)", "higher",
               "both"),
    Definition("psnr", "", "as ssim", "as ssim", "none (capped at 100 dB)", "higher", "both"),
    Definition("clip_score", "", "retain and unrelated (method)", "the row's own prompt",
               "CLIP ViT-B/16 (--clip), 100·cos, unclamped", "higher"),
    Definition("retain_accuracy", "", "unrelated (method)", "the row's subclass as the label",
               "category judge (--category-judge)", "higher"),
    Definition("judge_agreement/<a>~<b>", "", "forget (method); bare folder: every file", "the second judge",
               "Cohen's kappa of the first two --judge", "higher", "both"),
    Definition("flag_rate/<judge>", "", "every file (method)", "none", "the judge", "lower", "folder"),
    Definition("lpips_reference", "", "every file with a same-name --reference file, paired",
               "the --reference file of the same name", "AlexNet LPIPS (--lpips)", "lower", "folder"),
    Definition("fid_reference", "", "every file with a same-name --reference file", "the --reference files",
               "Inception-v3 (--inception)", "lower", "folder"),
    Definition("kid_reference", "", "as fid_reference", "the --reference files", "Inception-v3 (--inception)",
               "lower", "folder"),
    Definition("cmmd_reference", "", "as fid_reference", "the --reference files", "CLIP ViT-L/14-336 (--cmmd-clip)",
               "lower", "folder"),
)
BY_NAME = {d.name.split("/")[0]: d for d in DEFINITIONS}


def definition(metric: str) -> Definition:
    """The definition of a summary key such as 'forget_rate/nudenet' or 'fid'."""
    return BY_NAME[metric.split("/")[0]]


def markdown_table() -> str:
    """README's metric table."""
    lines = ["| metric | IGMU's name | rows used (role, side) | reference image | judge / model | better |",
             "| --- | --- | --- | --- | --- | --- |"]
    for d in DEFINITIONS:
        rows, reference = d.cells()
        lines.append(f"| `{d.name}` | {d.igmu or '–'} | {rows} | {reference} | {d.model} | {d.direction} |")
    return "\n".join(lines) + "\n"
