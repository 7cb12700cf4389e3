"""`dataigm eval compare`: the method x metric table of several evaluation runs, with confidence
intervals, the best value per column marked, McNemar's paired test of every method against a
baseline on the same rows, and its bar charts.

Any mix of runs gives a table ('–' where a run lacks a metric or its value is missing). Runs over
other configs, row sets, judges or thresholds are refused, naming the difference, unless
`--allow-mismatch`; then the table marks them. A received summary.json is data, never a path or
markup: it is read strictly (`core.inputs`: no NaN, no key twice), its names are escaped per format
by `core.text` (Markdown cells, TeX, CSV cells a spreadsheet would run as formulas) and never become
file names: every file written is one the user named with `--out`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from dataigm.core import layout
from dataigm.core.errors import DataIGMError
from dataigm.core.text import csv_cell, markdown_cell, tex_escape
from dataigm.eval.definitions import BY_NAME
from dataigm.eval.stats import mcnemar

TABLE_FORMATS = (".md", ".csv", ".tex")
PLOT_FORMATS = (".png", ".svg", ".pdf")
FORMATS = TABLE_FORMATS + PLOT_FORMATS  # what --out may name
SCHEMAS = (1, 2)
SCOPE_KEYS = ("config", "task", "source", "revision", "units_digest", "curated_only", "limit")
JUDGE_KEYS = ("weights", "version", "threshold")
MISSING = "–"


# -- reading runs -----------------------------------------------------------------------------------


def _number(value: Any, where: str) -> float | None:
    """A metric number from a summary: a JSON number, or null (not computed); anything else is
    refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataIGMError(f"{where}: {value!r} is not a number")
    return float(value)


def load_run(folder: str | Path) -> dict[str, Any]:
    """A run's summary.json, read strictly and checked field by field (a received file is data,
    never trusted)."""
    from dataigm.core.inputs import read_json

    path = Path(folder) / layout.RUN_SUMMARY
    if not path.is_file():
        raise DataIGMError(f"{folder}: not an evaluation run (no {layout.RUN_SUMMARY}); run `dataigm eval run` first")
    summary = read_json(path)
    if not isinstance(summary, dict) or summary.get("schema_version") not in SCHEMAS \
            or not isinstance(summary.get("metrics"), dict):
        version = summary.get("schema_version") if isinstance(summary, dict) else None
        raise DataIGMError(f"{path}: unknown summary schema {version!r}")
    method = summary.get("method")
    if not isinstance(method, str) or not method.strip():
        raise DataIGMError(f"{path}: no method name")
    if not isinstance(summary.get("config"), (str, type(None))):
        raise DataIGMError(f"{path}: config {summary['config']!r} is not a name")
    metrics = {}
    for name, entry in summary["metrics"].items():
        if not isinstance(entry, dict):
            raise DataIGMError(f"{path}: metric {name!r} is not an object")
        where = f"{path}: metric {name!r}"
        checked = {**entry, **{k: _number(entry.get(k), f"{where} {k}") for k in ("value", "ci_low", "ci_high")}}
        direction = entry.get("direction") or getattr(BY_NAME.get(name.split("/")[0]), "direction", None)
        if direction not in ("lower", "higher"):
            raise DataIGMError(f"{where}: direction {entry.get('direction')!r} is neither 'lower' nor 'higher'")
        checked["direction"] = direction
        metrics[str(name)] = checked
    scope = summary.get("scope") if isinstance(summary.get("scope"), dict) else None
    if scope is not None:  # what the table shows is what is compared
        scope = {**scope, **{k: summary.get(k) for k in ("config", "source", "revision", "task")}}
    return {**summary, "metrics": metrics, "scope": scope, "folder": str(folder)}


def mismatches(runs: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """(what differs between the runs' configs and row sets, metrics whose judges differ)."""
    found = []
    first = runs[0]
    for run in runs[1:]:
        if first["scope"] is None or run["scope"] is None:
            older = first if first["scope"] is None else run
            found.append(f"the row set of {older['folder']} is unknown (a schema-1 run)")
            continue
        for key in SCOPE_KEYS:
            if first["scope"].get(key) != run["scope"].get(key):
                what = "row set" if key == "units_digest" else key
                found.append(f"{what}: {first['folder']} has {first['scope'].get(key)!r}, {run['folder']} has "
                             f"{run['scope'].get(key)!r}")
                break
    judged = set()
    for metric in _metrics(runs):
        settings = {tuple(str(r["metrics"][metric].get(k)) for k in JUDGE_KEYS) for r in runs if metric in r["metrics"]
                    and "threshold" in r["metrics"][metric]}
        if len(settings) > 1:
            judged.add(metric)
            found.append(f"{metric}: judges or thresholds differ ({'; '.join(sorted(' '.join(s) for s in settings))})")
    return found, judged


def _metrics(runs: list[dict[str, Any]]) -> list[str]:
    """Every metric of the runs, in the definitions' order (unknown names last, by name)."""
    from dataigm.eval.definitions import DEFINITIONS

    order = {d.name.split("/")[0]: i for i, d in enumerate(DEFINITIONS)}
    found = {m for run in runs for m in run["metrics"]}
    return sorted(found, key=lambda m: (order.get(m.split("/")[0], len(order)), m))


# -- the table ------------------------------------------------------------------------------------


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _best(runs: list[dict[str, Any]], metric: str) -> set[int]:
    values = [(i, r["metrics"][metric]["value"]) for i, r in enumerate(runs) if metric in r["metrics"]]
    values = [(i, v) for i, v in values if _finite(v)]
    if len(values) < 2:
        return set()
    target = (min if _direction(runs, metric) == "lower" else max)(v for _, v in values)
    return {i for i, v in values if v == target}


def _direction(runs: list[dict[str, Any]], metric: str) -> str:
    return next(r["metrics"][metric]["direction"] for r in runs if metric in r["metrics"])


def paired_tests(runs: list[dict[str, Any]], baseline: str) -> dict[str, dict[str, Any]]:
    """McNemar of each run against the baseline on the judge decisions of their shared forget rows."""
    import pyarrow.parquet as pq

    base = next((r for r in runs if r["method"] == baseline), None)
    if base is None:
        raise DataIGMError(f"--baseline {baseline!r} is not one of the runs ({', '.join(r['method'] for r in runs)})")
    base_rows = _per_image(pq, base)
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run is base or (run["config"], run.get("source")) != (base["config"], base.get("source")):
            continue
        rows = {r["id"]: r for r in _per_image(pq, run)}
        for metric in run["metrics"]:
            if not metric.startswith("forget_rate/"):
                continue
            column = f"{metric.split('/', 1)[1]}/method/decision"
            shared = [(b.get(column), rows[b["id"]].get(column)) for b in base_rows
                      if b.get("role") == "forget" and b["id"] in rows]
            pairs = [(x > 0.5, y > 0.5) for x, y in shared if isinstance(x, float) and isinstance(y, float)
                     and np.isfinite(x) and np.isfinite(y)]
            if pairs:
                a, b = zip(*pairs, strict=True)
                out.setdefault(run["method"], {})[metric] = mcnemar(list(b), list(a))
    return out


def _per_image(pq, run: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(run["folder"]) / layout.RUN_PER_IMAGE
    if not path.is_file():
        raise DataIGMError(f"{run['folder']}: no {layout.RUN_PER_IMAGE} for the paired test")
    return pq.read_table(path).to_pylist()


def _cell(m: dict[str, Any] | None) -> str:
    if m is None or not _finite(m.get("value")):
        return MISSING
    low, high = m.get("ci_low"), m.get("ci_high")
    ci = f" [{low:.3g}, {high:.3g}]" if _finite(low) and _finite(high) else ""
    return f"{m['value']:.4g}{ci}"


def table(runs: list[dict[str, Any]], baseline: str | None = None, allow_mismatch: bool = True,
          ) -> tuple[list[str], list[list[str]], list[set[int]]]:
    """Header, rows and, per metric column, the indices of the best runs. Mismatched runs are
    refused unless `allow_mismatch`; then a `scope` column marks the runs that differ from the
    first and '†' the metric columns whose judges or thresholds differ."""
    found, judged = mismatches(runs)
    if found and not allow_mismatch:
        raise DataIGMError(f"the runs differ: {found[0]}{f' (and {len(found) - 1} more)' if len(found) > 1 else ''};"
                           " pass --allow-mismatch to compare them anyway (the table marks the differences)")
    metrics = _metrics(runs)
    tests = paired_tests(runs, baseline) if baseline else {}
    header = ["method", "config"]
    header += [f"{m} ({'↓' if _direction(runs, m) == 'lower' else '↑'}){'†' if m in judged else ''}" for m in metrics]
    test_cols = sorted({m for t in tests.values() for m in t})
    header += [f"p vs {baseline} ({m})" for m in test_cols]
    if found:
        header.append("scope")
    body, best = [], [_best(runs, m) for m in metrics]
    for run in runs:
        cells = [run["method"], run["config"] or MISSING] + [_cell(run["metrics"].get(m)) for m in metrics]
        cells += [f"{tests[run['method']][m]['p_value']:.3g}" if m in tests.get(run["method"], {}) else MISSING
                  for m in test_cols]
        if found:
            cells.append(_scope_mark(runs[0], run))
        body.append(cells)
    return header, body, best


def _scope_mark(first: dict[str, Any], run: dict[str, Any]) -> str:
    if run is first:
        return "reference"
    if first["scope"] is None or run["scope"] is None:
        return "≠ unknown rows"
    differ = [("rows" if k == "units_digest" else k) for k in SCOPE_KEYS
              if first["scope"].get(k) != run["scope"].get(k)]
    return "≠ " + ", ".join(differ) if differ else "="


# -- formats --------------------------------------------------------------------------------------


def render(runs: list[dict[str, Any]], fmt: str, baseline: str | None = None, allow_mismatch: bool = False) -> str:
    """The comparison table as text in `fmt` (.md, .csv or .tex), every cell escaped for it."""
    header, body, best = table(runs, baseline, allow_mismatch)
    metrics = _metrics(runs)

    def mark(i: int, j: int, text: str, bold: tuple[str, str]) -> str:
        k = j - 2
        return f"{bold[0]}{text}{bold[1]}" if 0 <= k < len(best) and i in best[k] else text

    if fmt == ".csv":
        return _csv(runs, header, body, best, metrics)
    if fmt == ".tex":
        lines = [r"\begin{tabular}{" + "l" * len(header) + "}", r"\toprule",
                 " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule"]
        for i, cells in enumerate(body):
            lines.append(" & ".join(mark(i, j, tex_escape(c), (r"\textbf{", "}")) for j, c in enumerate(cells))
                         + r" \\")
        return "\n".join([*lines, r"\bottomrule", r"\end{tabular}", ""])
    lines = ["| " + " | ".join(markdown_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for i, cells in enumerate(body):
        lines.append("| " + " | ".join(mark(i, j, markdown_cell(c), ("**", "**")) for j, c in enumerate(cells)) + " |")
    note = ("Values: estimate [95 % CI: bootstrap over prompts, or jackknife for FID/KID/CMMD]; best per column in "
            "bold; – not computed.")
    if "scope" in header:
        note += " Runs differ (--allow-mismatch): see the scope column; † judges or thresholds differ."
    return "\n".join(lines) + f"\n\n{note}\n"


def _csv(runs, header, body, best, metrics) -> str:
    """Numbers in their own columns (estimate, ci_low, ci_high) as numbers, every cell quoted, text
    cells safe (`csv_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    columns = ["method", "config"]
    for h in header[2 : 2 + len(metrics)]:
        columns += [h, f"{h} ci_low", f"{h} ci_high"]
    columns += [*header[2 + len(metrics):], "best_in"]
    writer.writerow([csv_cell(c) for c in columns])
    for i, (run, cells) in enumerate(zip(runs, body, strict=True)):
        row = cells[:2]
        for m in metrics:
            entry = run["metrics"].get(m) or {}
            row += ["" if not _finite(entry.get(k)) else float(entry[k]) for k in ("value", "ci_low", "ci_high")]
        row += cells[2 + len(metrics):]
        row.append(";".join(header[k + 2] for k in range(len(best)) if i in best[k]))
        writer.writerow([csv_cell(c) for c in row])
    return buf.getvalue()


# -- writing --------------------------------------------------------------------------------------


def write(runs: list[dict[str, Any]], outputs: list[Path], baseline: str | None = None,
          allow_mismatch: bool = False) -> str:
    """Write the table to each .md/.csv/.tex output and the chart to each .png/.svg/.pdf one (paths
    checked by the caller), every file whole or not at all; returns the Markdown table (for the
    terminal). Everything is rendered before the first file is written."""
    from dataigm.core.storage import atomic_output, write_file

    tables = {path: render(runs, path.suffix.lower(), baseline, allow_mismatch) for path in outputs
              if path.suffix.lower() in TABLE_FORMATS}
    shown = render(runs, ".md", baseline, allow_mismatch)
    figure = chart(runs) if any(p.suffix.lower() in PLOT_FORMATS for p in outputs) else None
    try:
        for path, text in tables.items():
            write_file(path, text)
        for path in (p for p in outputs if p.suffix.lower() in PLOT_FORMATS):
            with atomic_output(path) as tmp:
                figure.savefig(tmp, format=path.suffix.lower()[1:], dpi=110)
    finally:
        if figure is not None:
            import matplotlib.pyplot as plt

            plt.close(figure)
    return shown


# -- plots ----------------------------------------------------------------------------------------


def chart(runs: list[dict[str, Any]]):
    """A matplotlib figure: a bar chart per metric (methods side by side, 95 % CIs as error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in _metrics(runs) if any(_finite(r["metrics"].get(m, {}).get("value")) for r in runs)]
    cols = min(4, len(metrics)) or 1
    rows = -(-len(metrics) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        names, values, errors = [], [], [[], []]
        for run in runs:
            m = run["metrics"].get(metric)
            if m is None or not _finite(m.get("value")):
                continue
            names.append(run["method"].replace("$", r"\$"))  # shown as text, never as mathtext
            values.append(m["value"])
            low = m["ci_low"] if _finite(m.get("ci_low")) else m["value"]
            high = m["ci_high"] if _finite(m.get("ci_high")) else m["value"]
            errors[0].append(max(m["value"] - low, 0))
            errors[1].append(max(high - m["value"], 0))
        ax.bar(range(len(values)), values, yerr=errors, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(values)), names, rotation=30, ha="right", fontsize=7)
        better = "lower" if _direction(runs, metric) == "lower" else "higher"
        ax.set_title(f"{metric}\n({better} is better)".replace("$", r"\$"), fontsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout()
    return fig
