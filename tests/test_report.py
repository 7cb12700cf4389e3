"""`dataigm report` of the smoke build, a judge trained here and an evaluation run: one bounded
offline page, opened in headless Chromium (Debian's package, installed by scripts/browser-up.sh)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "dataigm.cli", "-q"]
MAX_MB = 12


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


@pytest.fixture(scope="module")
def page(smoke_release, tmp_path_factory) -> dict:
    """The report of the smoke build, a CLIP-head judge and an evaluation of the tiny model."""
    from tests.judge_fixtures import build_separable_release, build_tiny_clip

    root = tmp_path_factory.mktemp("report")
    release = root / "release"
    shutil.copytree(smoke_release, release)
    clip = build_tiny_clip(root / "clip")
    data = build_separable_release(root / "separable", "church", n=120)
    judge = root / "church-judge"
    trained = subprocess.run([*CLI, "train-judge", "church", str(data), "--backbone", clip, "--out",
                              str(judge)], capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr
    run = root / "eval"
    evaluated = subprocess.run([*CLI, "eval", "run", str(release), "--config", "church", "--method",
                                "tiny", "--model", str(release / "_build" / "tiny-model"), "--out", str(run),
                                "--bootstrap", "50", "--no-progress"], capture_output=True, text=True,
                               timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr
    out = root / "report.html"
    made = subprocess.run([*CLI, "report", str(release), str(judge), str(run), "--out", str(out), "--max-mb",
                           str(MAX_MB)], capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    return {"html": out, "release": release, "judge": judge, "run": run, "stdout": made.stdout}


def test_the_page_is_one_bounded_offline_file(page):
    html = page["html"].read_text()
    assert page["html"].stat().st_size < (MAX_MB + 2) * 1_000_000
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html.replace("https://matplotlib.org", "")
    for heading in ("Release: ", "Judge: clip_head:church", "Evaluation: tiny on church",
                    "Forget / retain pairs", "Why rows were dropped", "Detector scores",
                    "ROC, precision-recall and reliability", "Methods x metrics", "Confusion matrix at threshold",
                    "accuracy (presence at threshold)"):
        assert heading in html, heading
    assert "showing" in html or "the galleries show" in html


def test_plots_are_reused_by_the_cards(page, tmp_path):
    from cards.render import render_dataset_card
    from dataigm.core.taxonomy import load_taxonomy

    plots = sorted(p.name for p in (page["release"] / "plots").glob("*.svg"))
    assert "drop_reasons.svg" in plots and "detector_scores.svg" in plots
    manifest = json.loads((page["release"] / "dataigm.json").read_text())
    card = render_dataset_card(manifest, load_taxonomy().as_json(), plots=plots)
    assert "![drop_reasons.svg](plots/drop_reasons.svg)" in card
    assert (page["judge"] / "plots" / "judge_curves.svg").exists()


def test_evaluation_plots_are_named_by_position_never_by_data(page):
    """The run's plots go into the first run folder (locked while the report writes them) under names
    the report chooses (`eval_subclasses_<n>`: the run's position, never its method or config
    name), which `safe_file_name` keeps as they are; the run stays a run folder of ours."""
    from dataigm.core.folders import folder_kind
    from dataigm.core.text import safe_file_name

    plots = sorted(p.name for p in (page["run"] / "plots").iterdir())
    assert plots == ["eval_metrics.svg", "eval_subclasses_0.svg"]
    assert all(safe_file_name(p.removesuffix(".svg")) == p.removesuffix(".svg") for p in plots)
    assert folder_kind(str(page["run"])) == ("run", "marked")
    assert (page["run"] / "_build" / "folder.lock").read_text().strip() == ""  # released


@pytest.mark.browser
def test_the_page_renders_in_headless_chromium(page, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium here (scripts/browser-up.sh installs Debian's package as root)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=browser, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        tab = chrome.new_page(viewport={"width": 1300, "height": 1000})
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(page["html"].as_uri())
        tab.wait_for_load_state("load")
        images = tab.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        headings = tab.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        pairs = tab.evaluate("""Array.from(document.querySelectorAll('section.release .item.pair')).map(
            item => Array.from(item.querySelectorAll('img')).map(i => i.dataset.seed))""")
        shot = tmp_path / "report.png"
        tab.screenshot(path=str(shot), full_page=False)
        chrome.close()
    assert not errors, errors
    assert len(images) > 50 and all(complete and width > 0 for complete, width, _ in images), \
        [i for i in images if not i[1]][:5]
    assert [h.split(":")[0] for h in headings] == ["Release", "Judge", "Evaluation"]
    assert pairs and all(len(seeds) == 2 and seeds[0] == seeds[1] for seeds in pairs)
    assert shot.stat().st_size > 20_000


def test_subclass_heatmap_shades_each_metric_on_its_own_range():
    """CLIP score (-30..20) beside SSIM (0.5..0.7): one colour scale would flatten SSIM."""
    import numpy as np

    from dataigm.report.plots import _column_scaled

    values = np.array([[-30.0, 0.5, 1.0], [20.0, 0.7, 1.0], [np.nan, 0.6, 1.0]])
    assert np.allclose(_column_scaled(values), [[0, 0, 0], [1, 1, 0], [0, 0.5, 0]])
