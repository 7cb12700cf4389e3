"""The evaluation section: the method x metric chart with confidence intervals, a subclass heatmap,
and sampled rows with the original's and the method's image side by side and both judges' scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dataigm.core import layout
from dataigm.core.ids import bucket
from dataigm.report import plots
from dataigm.report.model import Gallery, Item, Picture, Section, Table
from dataigm.report.thumbs import Thumbnails

SAMPLES = 12


def evaluation_section(folders: list[Path], thumbs: Thumbnails) -> Section:
    """The report section of one or more evaluation runs."""
    from dataigm.eval.compare import chart, load_run, table

    runs = [load_run(f) for f in folders]
    names = ", ".join(f"{r['method']} on {r['config'] or 'a bare folder'}" for r in runs)
    section = Section("evaluation", f"Evaluation: {names}")
    header, body, _ = table(runs)
    section.tables.append(Table("Methods x metrics (estimate [95% CI])", header, body))
    section.figures.append(plots.Figure("eval_metrics", "Metrics with 95% confidence intervals", chart(runs)))
    for number, run in enumerate(runs):
        by_sub = run.get("breakdowns", {}).get("by_subclass", {})
        metrics = sorted({m for v in by_sub.values() for m in v if m != "n"})
        if by_sub and metrics:
            values = np.array([[v.get(m, np.nan) for m in metrics] for v in by_sub.values()], dtype=float)
            section.figures.append(plots.matrix(f"eval_subclasses_{number}",  # names from data never name files
                                                f"{run['method']}: metrics by subclass", values, list(by_sub),
                                                metrics, "{:.2f}", by_column=True))
        section.galleries.append(_samples(run, thumbs))
        for name, why in run.get("skipped", {}).items():
            section.notes.append(f"{run['method']}: {name} not computed: {why}")
    return section


def _samples(run: dict[str, Any], thumbs: Thumbnails) -> Gallery:
    from dataigm.core.storage import Store

    folder = Path(run["folder"])
    rows = Store(str(folder)).read_table(layout.RUN_PER_IMAGE).to_pylist()
    rows.sort(key=lambda r: bucket(r["id"], 10**9))
    picked = rows[: min(SAMPLES, max(thumbs.room() // 2, 0))]
    from dataigm.eval.scoring import unit_images

    found = unit_images(str(folder), {r["id"] for r in picked})
    method, original = found["method"], found["original"]
    judges = sorted({c.split("/")[0] for r in rows[:1] for c in r if c.endswith("/method/score")})
    items = []
    for r in picked:
        pictures = []
        if r["id"] in original and thumbs.add(f"orig:{r['id']}", original[r["id"]]):
            pictures.append(Picture(f"orig:{r['id']}", "original", r.get("seed")))
        if r["id"] in method and thumbs.add(f"{run['method']}:{r['id']}", method[r["id"]]):
            pictures.append(Picture(f"{run['method']}:{r['id']}", run["method"], r.get("seed")))
        scores = [f"{j}: original {_num(r.get(f'{j}/original/score'))}, method {_num(r.get(f'{j}/method/score'))}"
                  for j in judges]
        items.append(Item(pictures, [f"{r['id']} · {r.get('role') or ''} · seed {r.get('seed')}",
                                     r.get("prompt") or "", *scores, f"ssim {_num(r.get('ssim'))}"],
                          "pair" if len(pictures) == 2 else "single"))
    return Gallery(f"{run['method']}: original and method images of sampled rows", items)


def _num(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.3f}"
