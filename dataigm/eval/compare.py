"""`dataigm eval compare`: the method x metric table of several evaluation runs, with confidence
intervals, the best value per column marked, McNemar's paired test of every method against a
baseline on the same rows, and an optional plot."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from dataigm.core.errors import DataIGMError
from dataigm.eval.stats import mcnemar

FORMATS = (".md", ".csv", ".tex")


def load_run(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "summary.json"
    if not path.exists():
        raise DataIGMError(f"{folder}: not an evaluation run (no summary.json); run `dataigm eval run` first")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataIGMError(f"{path}: corrupt summary ({exc.msg})") from None
    if summary.get("schema_version") != 1 or not isinstance(summary.get("metrics"), dict):
        raise DataIGMError(f"{path}: unknown summary schema {summary.get('schema_version')!r}")
    summary["folder"] = str(folder)
    return summary


def _best(runs: list[dict[str, Any]], metric: str) -> set[int]:
    values = [(i, r["metrics"][metric]["value"]) for i, r in enumerate(runs) if metric in r["metrics"]]
    values = [(i, v) for i, v in values if v is not None and np.isfinite(v)]
    if len(values) < 2:
        return set()
    target = (min if _direction(runs, metric) == "lower" else max)(v for _, v in values)
    return {i for i, v in values if v == target}


def paired_tests(runs: list[dict[str, Any]], baseline: str) -> dict[str, dict[str, Any]]:
    """McNemar of each run against the baseline on the judge decisions of their shared forget rows."""
    import pyarrow.parquet as pq

    base = next((r for r in runs if r["method"] == baseline), None)
    if base is None:
        raise DataIGMError(f"--baseline {baseline!r} is not one of the runs ({', '.join(r['method'] for r in runs)})")
    base_rows = pq.read_table(Path(base["folder"]) / "per_image.parquet").to_pylist()
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run is base:
            continue
        if (run["config"], run.get("source")) != (base["config"], base.get("source")):
            continue
        rows = {r["id"]: r for r in pq.read_table(Path(run["folder"]) / "per_image.parquet").to_pylist()}
        for metric in run["metrics"]:
            if not metric.startswith("forget_rate/"):
                continue
            column = f"{metric.split('/', 1)[1]}/method/decision"
            shared = [(b[column], rows[b["id"]].get(column)) for b in base_rows
                      if b.get("role") == "forget" and b["id"] in rows and column in b]
            pairs = [(x > 0.5, y > 0.5) for x, y in shared if x is not None and y is not None
                     and np.isfinite(x) and np.isfinite(y)]
            if pairs:
                a, b = zip(*pairs, strict=True)
                out.setdefault(run["method"], {})[metric] = mcnemar(list(b), list(a))
    return out


def _cell(m: dict[str, Any] | None) -> str:
    if m is None:
        return "–"
    low, high = m.get("ci_low"), m.get("ci_high")
    ci = f" [{low:.3g}, {high:.3g}]" if low is not None and np.isfinite(low) else ""
    return f"{m['value']:.4g}{ci}"


def table(runs: list[dict[str, Any]], baseline: str | None = None) -> tuple[list[str], list[list[str]], list[set[int]]]:
    """Header, rows and, per metric column, the indices of the best runs."""
    metrics: list[str] = []
    for run in runs:
        metrics.extend(m for m in run["metrics"] if m not in metrics)
    tests = paired_tests(runs, baseline) if baseline else {}
    header = ["method", "config", *[f"{m} ({'↓' if _direction(runs, m) == 'lower' else '↑'})" for m in metrics]]
    test_cols = sorted({m for t in tests.values() for m in t})
    header += [f"p vs {baseline} ({m})" for m in test_cols]
    body, best = [], [_best(runs, m) for m in metrics]
    for run in runs:
        cells = [run["method"], run["config"]] + [_cell(run["metrics"].get(m)) for m in metrics]
        cells += [f"{tests[run['method']][m]['p_value']:.3g}" if m in tests.get(run["method"], {}) else "–"
                  for m in test_cols]
        body.append(cells)
    return header, body, best


def _direction(runs: list[dict[str, Any]], metric: str) -> str:
    return next(r["metrics"][metric]["direction"] for r in runs if metric in r["metrics"])


def render(runs: list[dict[str, Any]], fmt: str, baseline: str | None = None) -> str:
    header, body, best = table(runs, baseline)

    def mark(i: int, j: int, text: str, bold: tuple[str, str]) -> str:
        k = j - 2
        return f"{bold[0]}{text}{bold[1]}" if 0 <= k < len(best) and i in best[k] else text

    if fmt == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([*header, "best_in"])
        for i, cells in enumerate(body):
            writer.writerow([*cells, ";".join(header[k + 2] for k in range(len(best)) if i in best[k])])
        return buf.getvalue()
    if fmt == ".tex":
        esc = str.maketrans({"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#"})
        lines = [r"\begin{tabular}{" + "l" * len(header) + "}", r"\toprule",
                 " & ".join(h.translate(esc).replace("↓", r"$\downarrow$").replace("↑", r"$\uparrow$")
                            for h in header) + r" \\", r"\midrule"]
        for i, cells in enumerate(body):
            lines.append(" & ".join(mark(i, j, c.translate(esc), (r"\textbf{", "}")) for j, c in enumerate(cells))
                         + r" \\")
        return "\n".join([*lines, r"\bottomrule", r"\end{tabular}", ""])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, cells in enumerate(body):
        lines.append("| " + " | ".join(mark(i, j, c, ("**", "**")) for j, c in enumerate(cells)) + " |")
    note = "Values: estimate [95 % CI, bootstrap clustered by prompt]; best per column in bold."
    return "\n".join(lines) + f"\n\n{note}\n"


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """The chart of `chart` as a PNG file."""
    import matplotlib.pyplot as plt

    fig = chart(runs)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def chart(runs: list[dict[str, Any]]):
    """A matplotlib figure: a bar chart per metric (methods side by side, 95 % CIs as error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics: list[str] = []
    for run in runs:
        metrics.extend(m for m in run["metrics"] if m not in metrics)
    cols = min(4, len(metrics)) or 1
    rows = -(-len(metrics) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        names, values, errors = [], [], [[], []]
        for run in runs:
            m = run["metrics"].get(metric)
            if m is None:
                continue
            names.append(run["method"])
            values.append(m["value"])
            low = m["ci_low"] if m.get("ci_low") is not None and np.isfinite(m["ci_low"]) else m["value"]
            high = m["ci_high"] if m.get("ci_high") is not None and np.isfinite(m["ci_high"]) else m["value"]
            errors[0].append(max(m["value"] - low, 0))
            errors[1].append(max(high - m["value"], 0))
        ax.bar(range(len(values)), values, yerr=errors, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(values)), names, rotation=30, ha="right", fontsize=7)
        better = "lower" if _direction(runs, metric) == "lower" else "higher"
        ax.set_title(f"{metric}\n({better} is better)", fontsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout()
    return fig
