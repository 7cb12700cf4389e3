"""`dataigm eval compare`: any mix of runs gives a table; runs over other rows, configs, judges or
thresholds are refused unless --allow-mismatch (then marked); names from a received summary.json
are data (escaped per format, never file names); output paths are checked before any work."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"


def _main(*args: str) -> tuple[int, str, str]:
    import contextlib

    from dataigm.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bare_runs(tmp_path_factory) -> dict[str, Path]:
    """Bare-folder runs: two over the same file names, one over others, one with another threshold."""
    root = tmp_path_factory.mktemp("bare")
    runs = {}
    for name, images, reference, extra in (
            ("vg", "van_gogh", "other_style", ()), ("plain", "other_style", "van_gogh", ()),
            ("people", "person", None, ()), ("strict", "van_gogh", "other_style", ("--nudenet-threshold", "0.9"))):
        args = ["-q", "eval", "run", "--images", str(IMAGES / images), "--method", name, "--judge", "nudenet",
                "--out", str(root / name), "--bootstrap", "20", "--no-progress", *extra]
        if reference:
            args += ["--reference", str(IMAGES / reference)]
        code, _, err = _main(*args)
        assert code == 0, err
        runs[name] = root / name
    return runs


def test_bare_folder_runs_compare_with_dashes(bare_runs, tmp_path):
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(bare_runs["plain"]), "--out",
                           str(tmp_path / "t.md"))
    assert code == 0, err
    table = (tmp_path / "t.md").read_text()
    assert "| vg | – |" in table.replace("**", "") and "ssim (↑)" in table and "flag_rate/nudenet (↓)" in table


def test_mismatched_runs_are_refused_then_marked(bare_runs, tmp_path):
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(bare_runs["people"]), "--out",
                         str(tmp_path / "t.md"))
    assert code == 2 and "row set" in err and "--allow-mismatch" in err and not (tmp_path / "t.md").exists()
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(bare_runs["strict"]), "--out",
                         str(tmp_path / "t.md"))
    assert code == 2 and "judges or thresholds differ" in err
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(bare_runs["people"]), str(bare_runs["strict"]),
                         "--out", str(tmp_path / "t.md"), "--allow-mismatch")
    assert code == 0, err
    table = (tmp_path / "t.md").read_text()
    assert "flag_rate/nudenet (↓)†" in table and "≠ rows" in table and "| reference |" in table
    # people has no --reference: its paired columns are '–'
    people = next(line for line in table.splitlines() if line.startswith("| people"))
    assert people.count("–") >= 3


def _hostile_run(source: Path, folder: Path, **fields) -> Path:
    shutil.copytree(source, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(fields)
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_names_from_a_received_summary_are_data(bare_runs, tmp_path):
    """A crafted run: formula-like names stay text in CSV, TeX specials are escaped, pipes in
    Markdown, and no name reaches a file name (only the --out files are written)."""
    evil = _hostile_run(bare_runs["vg"], tmp_path / "evil", method='=HYPERLINK("http://x","y")',
                        config="@SUM(1+1)")
    summary = json.loads((evil / "summary.json").read_text())
    summary["metrics"]["+cmd|x"] = {**summary["metrics"]["ssim"]}
    (evil / "summary.json").write_text(json.dumps(summary))
    tex = _hostile_run(bare_runs["vg"], tmp_path / "tex", method=r"\input{/etc/passwd}$x$_%", config=None)
    pipe = _hostile_run(bare_runs["vg"], tmp_path / "pipe", method="../../a|b")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for fmt in ("csv", "tex", "md"):
        code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(evil), str(tex), str(pipe), "--out",
                             str(outputs / f"t.{fmt}"), "--allow-mismatch",
                             *(["--out", str(outputs / "p.png")] if fmt == "md" else []))
        assert code == 0, err
    rows = list(csv.reader(io.StringIO((outputs / "t.csv").read_text())))
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and "'@SUM(1+1)" in cells
    assert any(c.startswith("'+cmd|x") for c in cells)
    assert not any(c[:1] and c[:1] in "=+@" for c in cells)
    assert all(line.startswith('"') for line in (outputs / "t.csv").read_text().splitlines())  # every cell quoted
    text = (outputs / "t.tex").read_text()
    assert r"\input{" not in text and r"\textbackslash{}input\{/etc/passwd\}\$x\$\_\%" in text
    assert r"../../a\|b" in (outputs / "t.md").read_text() and "≠ config" in (outputs / "t.md").read_text()
    assert sorted(p.name for p in outputs.iterdir()) == ["p.png", "t.csv", "t.md", "t.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil", "outputs", "pipe", "tex"]


@pytest.mark.parametrize(("edit", "message"), [
    ({"method": None}, "no method name"),
    ({"method": ""}, "no method name"),
    ({"metrics": {"ssim": {"value": "0.9", "direction": "higher"}}}, "'0.9' is not a number"),
    ({"metrics": {"ssim": {"value": 0.5, "direction": "sideways"}}}, "neither 'lower' nor 'higher'"),
    ({"metrics": []}, "unknown summary schema"),
    ({"schema_version": 9}, "unknown summary schema 9"),
    ({"metrics": {"ssim": {"value": float("nan"), "direction": "higher"}}}, "NaN is not a JSON number"),
])
def test_a_malformed_summary_is_one_line(bare_runs, tmp_path, edit, message):
    bad = _hostile_run(bare_runs["vg"], tmp_path / "bad", **edit)
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(bad), "--out", str(tmp_path / "t.md"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "t.md").exists()


def test_a_null_value_is_a_dash(bare_runs, tmp_path):
    """A null value or interval end is '–'; the chart goes to the old --plot too (one deprecation line)."""
    summary = json.loads((bare_runs["vg"] / "summary.json").read_text())
    summary["metrics"]["ssim"]["value"] = None
    summary["metrics"]["psnr"]["ci_low"] = None
    run = _hostile_run(bare_runs["vg"], tmp_path / "nulls", metrics=summary["metrics"])
    code, _, err = _main("eval", "compare", str(bare_runs["vg"]), str(run), "--out", str(tmp_path / "t.md"),
                         "--plot", str(tmp_path / "p.svg"))
    assert code == 0 and err.count("\n") == 1 and "--plot is deprecated" in err and "--out FILE.png" in err, err
    assert (tmp_path / "p.svg").read_text().startswith("<?xml")
    line = next(row for row in (tmp_path / "t.md").read_text().splitlines() if row.startswith("| vg") and "–" in row)
    assert "| – |" in line.replace("**", "")


def test_output_paths_are_checked_before_any_work(bare_runs, tmp_path):
    """Every --out (tables and charts alike) is checked as every verb checks a file it writes
    (cli.checks.check_out_file) before any run is read; nothing is written, no temporary left."""
    run = str(bare_runs["vg"])
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "file").write_text("x")
    for args, message in ((["--out", str(tmp_path / "folder.md")], "is a folder"),
                          (["--out", str(tmp_path / "file" / "t.md")], "is a file, not a folder"),
                          (["--out", str(tmp_path / "no" / "t.md")], "does not exist; create it first"),
                          (["--out", str(tmp_path / "t.md"), "--out", str(tmp_path / "p.txt")],
                           "p.txt: use a .md, .csv, .tex, .png, .svg or .pdf file name"),
                          (["--out", str(tmp_path / "t.md"), "--out", str(tmp_path / "file" / "p.png")],
                           "is a file, not a folder"),
                          (["--out", str(tmp_path / "t.md"), "--out", str(tmp_path / "." / "t.md")], "given twice")):
        code, _, err = _main("eval", "compare", run, *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.md"]  # no table, no .tmp


def test_one_compare_writes_every_out_it_is_given(bare_runs, tmp_path):
    """--out once per file: the table in each of .md, .csv, .tex and the chart in .png/.svg/.pdf,
    whatever the suffix's case."""
    names = ["t.md", "t.CSV", "t.tex", "c.png", "c.SVG", "c.pdf"]
    code, out, err = _main("eval", "compare", str(bare_runs["vg"]), str(bare_runs["plain"]),
                           *[a for n in names for a in ("--out", str(tmp_path / n))])
    assert code == 0 and not err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert (tmp_path / "t.md").read_text() in out  # what the terminal shows is the Markdown table
    assert (tmp_path / "t.CSV").read_text().startswith('"method","config"')
    assert r"\begin{tabular}" in (tmp_path / "t.tex").read_text()
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-" and b"<svg" in (tmp_path / "c.SVG").read_bytes()
