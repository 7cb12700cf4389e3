"""The judge section: ROC and precision-recall curves with the chosen threshold, a reliability
diagram, the confusion matrix, metrics by subclass and by source, and the test images the judge
got wrong most confidently."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dataigm.core import layout
from dataigm.report import plots
from dataigm.report.model import Gallery, Item, Picture, Section, Table, fmt
from dataigm.report.thumbs import Thumbnails

WRONG = 8


def judge_section(folder: Path, thumbs: Thumbnails) -> Section:
    """The report section of one judge artifact."""
    from dataigm.core.errors import DataIGMError
    from dataigm.core.storage import Store

    try:
        config = json.loads((folder / layout.JUDGE_CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataIGMError(f"{folder}: unreadable judge config ({exc})") from None
    test = config.get("metrics", {}).get("test", {})
    section = Section("judge", f"Judge: {config.get('kind')}:{config.get('target')} ({folder.name})")
    presence = test.get("presence", {})
    section.tables.append(Table("Test metrics (presence)", ["metric", "value"],
                                [[k, fmt(v)] for k, v in presence.items() if k != "confusion_matrix"]))
    backbone = config.get("backbone") or {}
    section.tables.append(Table("Judge", ["field", "value"], [
        ["kind", fmt(config.get("kind"))], ["labels", f"{len(config['labels'])}: " + ", ".join(config["labels"][:12])
                                             + (" ..." if len(config["labels"]) > 12 else "")],
        ["threshold", fmt(config.get("threshold"))], ["backbone", f"{backbone.get('id', config.get('arch'))} "
                                                                 f"@ {backbone.get('revision', '')}"],
        ["training data", f"{config.get('training_data', {}).get('source')} "
                          f"{', '.join(config.get('training_data', {}).get('configs', [])[:8])}"],
        ["digest", fmt(config.get("digest"))]]))
    # a category judge's breakdowns score its predicted class; a single-concept judge's, presence at its threshold
    accuracy = "accuracy (predicted class)" if test.get("classes") else "accuracy (presence at threshold)"
    for key, title in (("by_subclass", "Accuracy by subclass"), ("by_source", "Accuracy by image source")):
        if test.get(key):
            section.tables.append(Table(title, ["group", "n", accuracy],
                                        [[g, str(v["n"]), fmt(v["accuracy"])] for g, v in test[key].items()]))
    matrix = np.asarray(presence.get("confusion_matrix") or [[0, 0], [0, 0]])
    title = f"Confusion matrix at threshold {fmt(config.get('threshold'))}"
    section.figures.append(plots.matrix("judge_confusion", title, matrix, ["absent", "present"], ["absent", "present"],
                                        axes=("truth", "predicted")))
    predictions = folder / layout.JUDGE_PREDICTIONS
    if predictions.exists():
        rows = Store(str(folder)).read_table(layout.JUDGE_PREDICTIONS).to_pylist()
        y = np.array([int(r["label"] > 0) for r in rows])
        score = np.array([r["score"] for r in rows], dtype=float)
        threshold = float(config["threshold"])
        section.figures.append(plots.curves("judge_curves", y, score, threshold))
        wrong = [r for r in rows if (r["score"] >= threshold) != (r["label"] > 0)]
        wrong.sort(key=lambda r: -abs(r["score"] - threshold))
        section.galleries.append(_wrong_gallery(wrong[:WRONG], config, thumbs))
        section.notes.append(f"{len(rows)} test images; {len(wrong)} judged wrong at threshold {threshold:.3g}.")
    else:
        section.notes.append(f"no {layout.JUDGE_PREDICTIONS} in the artifact: curves and wrong images are not shown")
    return section


def _wrong_gallery(wrong: list[dict], config: dict, thumbs: Thumbnails) -> Gallery:
    """The most confidently wrong test images, read back from the judge's training release."""
    source = config.get("training_data", {}).get("source")
    images: dict[str, bytes] = {}
    if source and Path(source).is_dir():
        from dataigm.core.storage import Store

        ids = {r["row_id"] for r in wrong}
        store = Store(source)  # the judge's training release: an unreadable shard is one line naming it
        for shard in store.glob("*/test-*.parquet"):
            if "image" not in store.parquet_file(shard).schema_arrow.names:
                continue
            for r in store.read_table(shard, columns=["id", "image"]).to_pylist():
                if r["id"] in ids:
                    images[r["id"]] = r["image"]["bytes"]
    items = []
    for r in wrong:
        if r["row_id"] in images and thumbs.add(r["row_id"], images[r["row_id"]]):
            truth = config["labels"][r["label"]] if r["label"] < len(config["labels"]) else r["label"]
            items.append(Item([Picture(r["row_id"], "wrong")], [f"truth {truth}, score {r['score']:.3f}",
                                                                 f"{r['subclass']} · {r['origin']}"]))
    return Gallery("Most confidently wrong test images", items)
