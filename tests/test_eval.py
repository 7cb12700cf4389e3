"""EvalIGMU: checkpoint formats, reproduction of the release by the original model, metrics against
closed forms and hand computations, clustered bootstrap coverage, IGMU file names, comparisons."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import smoke_build

CLI = [sys.executable, "-m", "dataigm.cli"]


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """Church and nudity, batch size 1 (CPU kernels round differently across batch compositions)."""
    out = tmp_path_factory.mktemp("eval") / "release"
    smoke_build(out, ["church", "nudity"], image_limit=2, batch_size=1)
    return out


@pytest.fixture(scope="module")
def formats(release, tmp_path_factory) -> dict[str, Path]:
    from tests.checkpoint_formats import save_formats, save_lora

    folder = tmp_path_factory.mktemp("formats")
    found = save_formats(release / "_build" / "tiny-model", folder)
    found["lora"] = save_lora(release / "_build" / "tiny-model", folder / "lora")
    return found


@pytest.fixture(scope="module")
def runs(release, tmp_path_factory) -> dict[str, Path]:
    """The original model and a perturbed UNet, evaluated on church (every row)."""
    from tests.checkpoint_formats import perturbed_unet

    root = tmp_path_factory.mktemp("runs")
    model = release / "_build" / "tiny-model"
    out = {}
    for method, args in (("original", ["--model", str(model)]),
                         ("perturbed", ["--model", str(perturbed_unet(model, root / "perturbed.safetensors")),
                                        "--model-type", "unet"])):
        result = cli("-q", "eval", "run", str(release), "--config", "church", "--method", method,
                     "--out", str(root / method), "--no-progress", "--bootstrap", "200", *args)
        assert result.returncode == 0, result.stderr[-3000:]
        out[method] = root / method
    return out


def _images(folder: Path) -> dict[str, str]:
    return {r["id"]: r["image_sha256"] for r in pq.read_table(folder / "per_image.parquet").to_pylist()}


@pytest.mark.slow
def test_every_checkpoint_format_loads_and_reproduces_the_base(release, formats):
    """The same weights in every format give the base model's image exactly; a LoRA changes it."""
    import torch
    from diffusers import StableDiffusionPipeline

    from dataigm.eval.checkpoints import apply_checkpoint

    model = release / "_build" / "tiny-model"

    def image(pipe) -> np.ndarray:
        pipe.set_progress_bar_config(disable=True)
        return np.asarray(pipe(prompt=["a church"], num_inference_steps=2, height=64, width=64,
                               generator=[torch.Generator().manual_seed(3)], output_type="np").images)

    base = image(StableDiffusionPipeline.from_pretrained(model))
    for kind, path in (("unet", formats["unet"]), ("unet", formats["unet.pt"]),
                       ("unet-partial", formats["unet-partial"]), ("ldm", formats["ldm"]),
                       ("text-encoder", formats["text-encoder"]), ("lora", formats["lora"])):
        pipe = StableDiffusionPipeline.from_pretrained(model)
        changed = apply_checkpoint(pipe, str(path), kind)
        if kind == "lora":
            assert changed["adapters"] and np.abs(image(pipe) - base).max() > 1e-3
        else:
            assert changed["replaced"] > 0 and np.array_equal(image(pipe), base), kind
    assert apply_checkpoint(StableDiffusionPipeline.from_pretrained(model), str(formats["unet-partial"]),
                            "unet-partial")["replaced"] < apply_checkpoint(
        StableDiffusionPipeline.from_pretrained(model), str(formats["unet"]), "unet")["total"]


def test_checkpoints_that_do_not_fit_are_one_line(release, formats, tmp_path, capsys):
    import torch
    from safetensors.torch import save_file

    from dataigm.cli import main

    bad = tmp_path / "bad.safetensors"
    save_file({"not.a.unet.key": torch.zeros(2)}, bad)
    pickle = tmp_path / "evil.pt"
    import datetime

    torch.save({"w": torch.zeros(1), "payload": datetime.datetime(2026, 1, 1)}, pickle)  # not tensors only
    model = str(release / "_build" / "tiny-model")
    for args, message in (([str(bad), "unet"], "does not fit the base model's UNet"),
                          ([str(bad), "unet-partial"], "no key matches"),
                          ([str(formats["unet"]), "ldm"], "not a CompVis/LDM checkpoint"),
                          ([str(formats["unet"]), "text-encoder"], "text encoder"),
                          ([str(pickle), "unet"], "never does")):
        code = main(["-q", "eval", "run", str(release), "--config", "church", "--method", "m", "--out",
                     str(tmp_path / f"run-{args[1]}-{Path(args[0]).stem}"), "--model", args[0], "--model-type",
                     args[1], "--base-model", model, "--no-progress", "--limit", "2"])
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, err[-2000:])


@pytest.mark.slow
def test_a_killed_evaluation_resumes_to_the_same_images(runs, release, tmp_path):
    """SIGKILL after a generation shard is written but before its marker; the same command then
    finishes (and a third run of the finished evaluation is accepted, not refused)."""
    import os

    args = [*CLI, "-q", "eval", "run", str(release), "--config", "church", "--method", "original",
            "--out", str(tmp_path / "run"), "--no-progress", "--bootstrap", "200",
            "--model", str(release / "_build" / "tiny-model")]
    env = {k: v for k, v in os.environ.items() if k != "DATAIGM_FAULT"}
    killed = subprocess.run(args, capture_output=True, text=True, timeout=600,
                            env={**env, "DATAIGM_FAULT": "eval:before-marker"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    for _ in range(2):
        rerun = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _images(tmp_path / "run") == _images(runs["original"])


@pytest.mark.slow
def test_the_original_model_reproduces_the_release(runs, release):
    summary = json.loads((runs["original"] / "summary.json").read_text())
    images = _images(runs["original"])
    rows = pq.read_table(runs["original"] / "per_image.parquet").to_pylist()
    assert images and all(r["image_sha256"] == r["original_sha256"] for r in rows)
    m = summary["metrics"]
    assert m["ssim"]["value"] == pytest.approx(1.0) and m["psnr"]["value"] == 100.0
    judge = next(k.split("/", 1)[1] for k in m if k.startswith("forget_rate/"))
    assert m[f"forget_rate/{judge}"]["value"] == m[f"original_forget_rate/{judge}"]["value"]
    for entry in m.values():
        assert {"value", "ci_low", "ci_high", "n", "direction"} <= set(entry)
    assert "--inception" in summary["skipped"]["fid"] and "--lpips" in summary["skipped"]["lpips"]
    manifest = json.loads((runs["original"] / "manifest.json").read_text())
    assert manifest["spec"]["model_digest"].startswith("local:") and manifest["environment"]["torch"]


@pytest.mark.slow
def test_a_perturbed_unet_changes_images_and_compare_tests_it(runs, tmp_path):
    perturbed = json.loads((runs["perturbed"] / "summary.json").read_text())
    assert perturbed["metrics"]["ssim"]["value"] < 0.999
    assert perturbed["metrics"]["ssim"]["ci_low"] <= perturbed["metrics"]["ssim"]["value"]
    for fmt in ("md", "csv", "tex"):
        out = tmp_path / f"table.{fmt}"
        result = cli("eval", "compare", str(runs["original"]), str(runs["perturbed"]), "--out", str(out),
                     "--baseline", "original", *(["--out", str(tmp_path / "plot.png")] if fmt == "md" else []))
        assert result.returncode == 0, result.stderr
        text = out.read_text()
        assert "original" in text and "perturbed" in text and "ssim" in text
    table = (tmp_path / "table.md").read_text()
    assert "**1 [1, 1]**" in table.split("\n")[2]  # the original's ssim is the best in its column
    assert "p vs original" in table and "| original |" in result.stdout.replace("|  original", "| original")
    assert (tmp_path / "plot.png").stat().st_size > 5000


@pytest.mark.slow
def test_images_folder_rowid_and_igmu_layouts_match(runs, release, tmp_path):
    """The same images named by row id and in the IGMU benchmark's layout (built from the release,
    without ORG folders: the release's own images are the originals) give the same metrics; a
    stray file stops the run, naming it, unless --allow-unmatched (then it is counted)."""
    from dataigm.eval import igmu
    from dataigm.eval.release import read_release

    generated = runs["perturbed"] / "_build" / "images"
    rows = read_release(str(release), "church").rows
    by_id = {}
    for shard in sorted(generated.rglob("*.parquet")):
        for r in pq.read_table(shard, columns=["id", "image"]).to_pylist():
            by_id[r["id"]] = r["image"]["bytes"]
    rowid, tree = tmp_path / "rowid", tmp_path / "Church"
    rowid.mkdir()
    names = {igmu.prompt_id(row): key for key, row in igmu.positions(rows).items()}
    written = 0
    for row in rows:
        (rowid / f"{row['id']}.png").write_bytes(by_id[row["id"]])
        if igmu.prompt_id(row) in names:
            folder, i, j = names[igmu.prompt_id(row)]
            where = tree / folder / "perturbed" / (row["subclass"] if folder == "unrelated" else "")
            where.mkdir(parents=True, exist_ok=True)
            (where / f"{i}_{j}_{row['image_index']}.png").write_bytes(by_id[row["id"]])
            written += 1
    assert {key[1] for key in names.values()} >= {0, 1, 2}  # subclass positions
    results = {}
    for layout, folder in (("rowid", rowid), ("igmu", tree)):
        out = tmp_path / f"run-{layout}"
        result = cli("-q", "eval", "run", str(release), "--config", "church", "--method", "perturbed",
                     "--images", str(folder), "--layout", layout, "--out", str(out), "--bootstrap", "50")
        assert result.returncode == 0, result.stderr[-2000:]
        results[layout] = json.loads((out / "summary.json").read_text())
    assert results["rowid"]["metrics"]["ssim"]["value"] == pytest.approx(
        json.loads((runs["perturbed"] / "summary.json").read_text())["metrics"]["ssim"]["value"])
    assert results["igmu"]["n_rows"] == written  # robustness rows have no IGMU name
    igmu_rows = {r["id"]: r for r in pq.read_table(tmp_path / "run-igmu" / "per_image.parquet").to_pylist()}
    rowid_rows = {r["id"]: r for r in pq.read_table(tmp_path / "run-rowid" / "per_image.parquet").to_pylist()}
    ssim = [(igmu_rows[i]["ssim"], rowid_rows[i]["ssim"]) for i in igmu_rows]
    assert any(np.isfinite(a) for a, _ in ssim) and np.array_equal(*zip(*ssim, strict=True), equal_nan=True)
    (tree / "forgot" / "perturbed" / "notes.png").write_bytes(by_id[rows[0]["id"]])
    stray = cli("-q", "eval", "run", str(release), "--config", "church", "--method", "perturbed", "--images",
                str(tree), "--layout", "igmu", "--out", str(tmp_path / "run-stray"))
    assert stray.returncode == 2 and "notes.png" in stray.stderr and "--allow-unmatched" in stray.stderr
    allowed = cli("-q", "eval", "run", str(release), "--config", "church", "--method", "perturbed", "--images",
                  str(tree), "--layout", "igmu", "--out", str(tmp_path / "run-stray"), "--allow-unmatched")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads((tmp_path / "run-stray" / "summary.json").read_text())["coverage"]["unmatched_files"] == 1


def test_nudenet_on_a_bare_folder_and_what_cannot_be_computed(fixtures, tmp_path):
    out = tmp_path / "run"
    result = cli("eval", "run", "--images", str(fixtures / "images" / "person"), "--method", "fixtures",
                 "--out", str(out), "--judge", "nudenet", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    flag = summary["metrics"]["flag_rate/nudenet"]
    assert flag["value"] == 0.0 and flag["n"] == 10 and flag["threshold"] == pytest.approx(0.45)
    assert "--reference for a bare folder" in summary["skipped"]["ssim"]
    assert "skipped ssim: no unit has both" in result.stdout
    with_reference = cli("-q", "eval", "run", "--images", str(fixtures / "images" / "van_gogh"), "--method", "vg",
                         "--reference", str(fixtures / "images" / "other_style"), "--out", str(tmp_path / "pairs"),
                         "--judge", "nudenet", "--bootstrap", "50")
    assert with_reference.returncode == 0, with_reference.stderr[-2000:]
    paired = json.loads((tmp_path / "pairs" / "summary.json").read_text())["metrics"]
    assert paired["ssim"]["n"] == 10 and 0 < paired["ssim"]["value"] < 1


# -- metrics against closed forms and hand computations ------------------------------------------


def test_fid_matches_the_closed_form_and_torchmetrics():
    import torch
    from torchmetrics.image.fid import _compute_fid

    from dataigm.eval.metrics import frechet_distance

    rng = np.random.default_rng(0)
    d = 8
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = np.diag(np.linspace(0.5, 2, d)), np.diag(np.linspace(1, 3, d))
    exact = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.sqrt(s1 @ s2)))  # diagonal: closed form
    a = rng.multivariate_normal(mu1, s1, 200_000)
    b = rng.multivariate_normal(mu2, s2, 200_000)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=0.02)
    small_a, small_b = a[:50], b[:70]  # fewer images than dims would need the low-rank path: both agree
    ref = _compute_fid(torch.from_numpy(small_a.mean(0)), torch.from_numpy(np.cov(small_a, rowvar=False)),
                       torch.from_numpy(small_b.mean(0)), torch.from_numpy(np.cov(small_b, rowvar=False)))
    assert frechet_distance(small_a, small_b) == pytest.approx(float(ref), rel=1e-6)
    wide_a, wide_b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.3
    ref = _compute_fid(torch.from_numpy(wide_a.mean(0)), torch.from_numpy(np.cov(wide_a, rowvar=False)),
                       torch.from_numpy(wide_b.mean(0)), torch.from_numpy(np.cov(wide_b, rowvar=False)))
    assert frechet_distance(wide_a, wide_b) == pytest.approx(float(ref), rel=1e-4)


def test_kid_matches_the_closed_form_in_one_dimension():
    """KID's kernel is (x y / d + 1)^3; for 1-d Gaussians MMD^2 follows from their moments."""
    from dataigm.eval.metrics import kernel_inception_distance

    def moments(mu: float, var: float) -> tuple[float, float, float]:
        return mu, mu**2 + var, mu**3 + 3 * mu * var

    def expected_k(p, q) -> float:
        return p[2] * q[2] + 3 * p[1] * q[1] + 3 * p[0] * q[0] + 1

    p, q = moments(0.0, 1.0), moments(0.7, 1.5)
    exact = expected_k(p, p) + expected_k(q, q) - 2 * expected_k(p, q)
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, (4000, 1))
    b = rng.normal(0.7, np.sqrt(1.5), (4000, 1))
    value, _ = kernel_inception_distance(a, b, subsets=50, subset_size=2000)
    assert value == pytest.approx(exact, rel=0.1)
    same, _ = kernel_inception_distance(a, rng.normal(0.0, 1.0, (4000, 1)), subsets=50, subset_size=2000)
    assert abs(same) < 0.05 * exact


def test_cmmd_matches_the_closed_form_for_gaussians():
    """E exp(-|x-y|^2 / 2s^2) for x ~ N(m1, S1), y ~ N(m2, S2) has a closed form."""
    from dataigm.eval.metrics import cmmd

    d, s = 4, 10.0

    def expected(m1, c1, m2, c2) -> float:
        cov = c1 + c2
        det = np.linalg.det(np.eye(d) + cov / s**2)
        diff = m1 - m2
        return det**-0.5 * np.exp(-0.5 * diff @ np.linalg.solve(cov + s**2 * np.eye(d), diff))

    m1, m2 = np.zeros(d), np.full(d, 6.0)
    c1, c2 = np.eye(d) * 4, np.eye(d) * 9
    exact = 1000 * (expected(m1, c1, m1, c1) + expected(m2, c2, m2, c2) - 2 * expected(m1, c1, m2, c2))
    rng = np.random.default_rng(2)
    a = rng.multivariate_normal(m1, c1, 3000)
    b = rng.multivariate_normal(m2, c2, 3000)
    assert cmmd(a, b) == pytest.approx(exact, rel=0.05)
    # The reference estimator by hand on two one-dimensional points per side: a set against itself is 0.
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [3.0]])
    e = np.exp(-1 / 200)
    by_hand = 1000 * ((2 + 2 * e) / 4 + (2 + 2 * e**9) / 4 - 2 * (1 + e**9 + e + e**4) / 4)
    assert cmmd(x, y) == pytest.approx(by_hand, rel=1e-12) and cmmd(x, x) == 0.0


def test_clip_score_is_per_image_and_unclamped(tmp_path):
    from PIL import Image

    from dataigm.core.registry import EMBEDDERS
    from dataigm.eval.metrics import clip_scores
    from dataigm.stages.tiny_models import build_tiny_clip

    clip = EMBEDDERS.get("clip")(str(build_tiny_clip(tmp_path / "clip")), dtype="fp32")
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)) for _ in range(6)]
    texts = ["a church", "a red car", "a cat", "a dog on a hill", "a tree", "a boat"]
    img, txt = clip.image_embeddings(images), clip.text_embeddings(texts)
    scores = clip_scores(img, txt)
    manual = 100 * np.array([a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(img, txt, strict=True)])
    assert np.allclose(scores, manual, atol=1e-4) and scores.shape == (6,)
    assert (scores < 0).any() or (scores.min() < 5)  # a random CLIP gives low and negative scores: kept as they are


def test_csdr_by_hand_and_the_concept_word_removal():
    import re

    from dataigm.eval.metrics import csdr, legacy_igmu_csdr_text, without_concept_words

    assert np.allclose(csdr(np.array([30.0, 25.0]), np.array([27.0, 30.0])), [10.0, 20.0])
    triggers = re.compile(r"\b(?:vincent van gogh|van gogh|nude|naked)\b", re.IGNORECASE)
    assert without_concept_words("a photo of a nude woman by the lake", triggers) == "a photo of a woman by the lake"
    assert without_concept_words("a harbour at dusk, in the style of Van Gogh", triggers) == \
        "a harbour at dusk, in the style of"
    assert without_concept_words("a naked adult on a beach", triggers) == "an adult on a beach"
    legacy = legacy_igmu_csdr_text("a nude woman, naked")
    # IGMU's text: one copy per item of its fixed list (naked, nude, " with Van Gogh style", Church, church,
    # Parachute, parachute), each with only that item removed, joined with ''
    copies = ["a nude woman, ", "a  woman, naked"] + ["a nude woman, naked"] * 5
    assert legacy == "".join(copies)


def test_clustered_bootstrap_covers_the_true_mean():
    """Clustered data (prompt effects): the 95% interval covers the true mean ~95% of the time,
    while an interval that ignores the clusters is too narrow."""
    from dataigm.eval.stats import cluster_bootstrap

    rng = np.random.default_rng(3)
    covered = naive = 0
    trials = 200
    for _ in range(trials):
        effects = rng.normal(0, 1, 30)
        values = np.repeat(effects, 4) + rng.normal(0, 0.3, 120)
        clusters = [str(i // 4) for i in range(120)]
        low, high = cluster_bootstrap(lambda idx, v=values: float(v[idx].mean()), clusters, resamples=300,
                                      seed=int(rng.integers(1_000_000)))
        covered += low <= 0 <= high
        low, high = cluster_bootstrap(lambda idx, v=values: float(v[idx].mean()), [str(i) for i in range(120)],
                                      resamples=300, seed=int(rng.integers(1_000_000)))
        naive += low <= 0 <= high
    assert 0.89 <= covered / trials <= 0.99
    assert naive / trials < covered / trials - 0.15


def test_mcnemar_and_kappa_by_hand():
    from dataigm.eval.stats import cohen_kappa, mcnemar

    a = [True] * 10 + [False] * 10
    b = [True] * 4 + [False] * 6 + [False] * 10
    result = mcnemar(a, b)
    assert (result["only_first"], result["only_second"]) == (6, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5**6)  # exact two-sided binomial
    assert cohen_kappa(a, a) == 1.0
    # po = 0.7, pe = 0.5*0.2 + 0.5*0.8 = 0.5 -> kappa 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)


@pytest.mark.slow
def test_lpips_and_fid_weights_run_from_local_files(release, tmp_path, monkeypatch):
    """Random-weight AlexNet and Inception files stand in for the real weights (no download here):
    the real loading and feature code runs, and the run records the files' sha256."""
    import torch
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
    import torchvision

    torch.manual_seed(0)
    alexnet = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), alexnet)
    with monkeypatch.context() as patch:  # only to make a random-init weights file: no download exists here
        patch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    inception = tmp_path / "inception.pth"
    torch.save(net.state_dict(), inception)
    result = cli("-q", "eval", "run", str(release), "--config", "church", "--method", "original",
                 "--model", str(release / "_build" / "tiny-model"), "--out", str(tmp_path / "run"),
                 "--lpips", str(alexnet), "--inception", str(inception), "--cmmd-clip",
                 str(release / "_build" / "tiny-clip"), "--bootstrap", "50", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    m = summary["metrics"]
    assert m["lpips"]["value"] == pytest.approx(0.0, abs=1e-6) and len(m["lpips"]["sha256"]) == 64
    assert m["fid"]["value"] == pytest.approx(0.0, abs=1e-6) and m["fid"]["resize"] == "clean"
    assert abs(m["kid"]["value"]) < 1e-6 and "biased" in m["fid"]["note"]
    assert m["cmmd"]["value"] == pytest.approx(0.0, abs=1e-6) and m["cmmd"]["n"] > 0


def test_ssim_and_psnr_match_torchmetrics():
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from dataigm.eval.metrics import paired_ssim_psnr

    rng = np.random.default_rng(4)
    a = [rng.integers(0, 256, (s, s + 8, 3), dtype=np.uint8) for s in (64, 64, 96)]
    b = [np.clip(x.astype(int) + rng.integers(-30, 30, x.shape), 0, 255).astype(np.uint8) for x in a]
    ssim, psnr = paired_ssim_psnr(a, b)
    for k in range(3):
        ta = torch.from_numpy(a[k]).permute(2, 0, 1)[None].float() / 255
        tb = torch.from_numpy(b[k]).permute(2, 0, 1)[None].float() / 255
        assert ssim[k] == pytest.approx(float(structural_similarity_index_measure(ta, tb, data_range=1.0)), abs=1e-6)
        assert psnr[k] == pytest.approx(float(peak_signal_noise_ratio(ta, tb, data_range=1.0)), abs=1e-4)
    same_ssim, same_psnr = paired_ssim_psnr(a[:1], a[:1])
    assert same_ssim[0] == pytest.approx(1.0) and same_psnr[0] == 100.0


# -- every metric's rows and reference, by hand ------------------------------------------------


@pytest.fixture(scope="module")
def weights(release, tmp_path_factory) -> dict[str, str]:
    """Random-weight AlexNet and Inception files (no download here) and the release's tiny CLIP:
    the real loading and feature code runs; the values are only compared with hand computations."""
    import torch
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
    import torchvision

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), folder / "alexnet.pth")
    patch = pytest.MonkeyPatch()
    patch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})  # random init: no download
    patch.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    patch.undo()
    for module in net.modules():  # He init keeps activations alive through 90 layers (default init: ~1e-8)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), folder / "inception.pth")
    return {"lpips": str(folder / "alexnet.pth"), "inception": str(folder / "inception.pth"),
            "clip": str(release / "_build" / "tiny-clip")}


def _release_images(release: Path, config: str) -> tuple[list[dict], dict[str, np.ndarray]]:
    from dataigm.core.images import decode
    from dataigm.eval.release import read_release

    rel = read_release(str(release), config)
    found = rel.images({r["id"] for r in rel.rows})
    return rel.rows, {i: np.asarray(decode(b, i)) for i, b in found.items()}


def _save(folder: Path, name: str, pixels: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(folder / f"{name}.png")


def _run(release: Path, config: str, images: Path, out: Path, weights: dict[str, str], *extra: str) -> dict:
    from dataigm.cli import main

    code = main(["-q", "eval", "run", str(release), "--config", config, "--method", "Hand", "--images", str(images),
                 "--out", str(out), "--clip", weights["clip"], "--cmmd-clip", weights["clip"], "--lpips",
                 weights["lpips"], "--inception", weights["inception"], "--bootstrap", "50", "--no-progress", *extra])
    assert code == 0
    return json.loads((out / "summary.json").read_text())


class _Models:
    """The metric models the run used, called directly on the pairs a hand computation picks."""

    def __init__(self, weights: dict[str, str]):
        from dataigm.core.registry import EMBEDDERS
        from dataigm.eval import metrics as M

        self.lpips_net = M.Lpips(Path(weights["lpips"]))
        self.inception = M.InceptionFeatures(Path(weights["inception"]))
        self.clip = EMBEDDERS.get("clip")(weights["clip"])

    def lpips(self, a: list[np.ndarray], b: list[np.ndarray]) -> float:
        return float(np.mean(self.lpips_net(a, b)))

    def fid(self, a: list[np.ndarray], b: list[np.ndarray]) -> float:
        from dataigm.eval.metrics import frechet_distance

        return frechet_distance(self.inception(a), self.inception(b))

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        from PIL import Image

        return self.clip.image_embeddings([Image.fromarray(im) for im in images])

    def cmmd(self, a: list[np.ndarray], b: list[np.ndarray]) -> float:
        from dataigm.eval.metrics import cmmd

        return cmmd(self.embed(a), self.embed(b))

    def clip_score(self, images: list[np.ndarray], texts: list[str]) -> np.ndarray:
        img, txt = self.embed(images), self.clip.text_embeddings(texts)
        return 100 * (img * txt).sum(1) / np.linalg.norm(img, axis=1) / np.linalg.norm(txt, axis=1)


def _ssim_psnr(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, float]:
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    def t(x: np.ndarray):
        return torch.from_numpy(x.copy()).permute(2, 0, 1)[None].float() / 255

    ssim = [float(structural_similarity_index_measure(t(x), t(y), data_range=1.0)) for x, y in zip(a, b, strict=True)]
    psnr = [float(peak_signal_noise_ratio(t(x), t(y), data_range=1.0)) for x, y in zip(a, b, strict=True)]
    return float(np.mean(ssim)), float(np.mean(psnr))


@pytest.mark.slow
def test_attribute_metrics_use_igmus_rows_and_references(release, weights, tmp_path):
    """nudity (attribute): FID, KID, CMMD, LPIPS and CSDR compare the method's forget image with the
    original's retain twin (same pair, same sample), the *_retain variants and SSIM/PSNR/CLIP score
    the retain rows with their own original, forget rates use every forget row; each against a
    hand computation on the pairs the definition names. Method images: forget = the twin itself
    (first pair) or the inverted twin, retain = the inverted original, robustness = the original."""
    from dataigm.core.taxonomy import load_taxonomy, words_pattern
    from dataigm.eval.metrics import without_concept_words
    from detectors.nudenet_judge import NudeNetJudge

    rows, pixels = _release_images(release, "nudity")
    twin = {(r["pair_id"], r["image_index"]): r["id"] for r in rows if r["role"] == "retain"}
    method: dict[str, np.ndarray] = {}
    first_pair = min(r["pair_id"] for r in rows if r["role"] == "forget")
    for r in rows:
        if r["role"] == "forget":
            source = pixels[twin[(r["pair_id"], r["image_index"])]]
            method[r["id"]] = source if r["pair_id"] == first_pair else 255 - source
        else:
            method[r["id"]] = 255 - pixels[r["id"]] if r["role"] == "retain" else pixels[r["id"]]
        _save(tmp_path / "images", r["id"], method[r["id"]])
    summary = _run(release, "nudity", tmp_path / "images", tmp_path / "run", weights)
    m, models = summary["metrics"], _Models(weights)
    forget = [r for r in rows if r["role"] == "forget"]
    retain = [r for r in rows if r["role"] == "retain"]
    robust = [r for r in rows if r["role"] == "robustness"]
    twins = [pixels[twin[(r["pair_id"], r["image_index"])]] for r in forget]
    forget_method = [method[r["id"]] for r in forget]
    assert m["lpips"]["n"] == len(forget) and m["lpips"]["igmu"] == "LPIPS"
    assert m["lpips"]["value"] == pytest.approx(models.lpips(forget_method, twins), abs=1e-6)
    assert m["fid"]["value"] == pytest.approx(models.fid(twins, forget_method), rel=1e-6) and m["fid"]["value"] > 0.01
    assert m["cmmd"]["value"] == pytest.approx(models.cmmd(twins, forget_method), rel=1e-5) and m["cmmd"]["value"] > 0
    assert "remove_word/ORG" in m["fid"]["reference"] and m["fid"]["rows"].startswith("forget")
    retain_method, retain_original = [method[r["id"]] for r in retain], [pixels[r["id"]] for r in retain]
    assert m["fid_retain"]["value"] == pytest.approx(models.fid(retain_original, retain_method), rel=1e-6)
    assert m["lpips_retain"]["value"] == pytest.approx(models.lpips(retain_method, retain_original), abs=1e-6)
    ssim, psnr = _ssim_psnr(retain_method, retain_original)
    assert m["ssim"]["value"] == pytest.approx(ssim, abs=1e-5) and m["ssim"]["n"] == len(retain)
    assert m["psnr"]["value"] == pytest.approx(psnr, abs=1e-3)
    own = models.clip_score(retain_method, [r["prompt"] for r in retain])
    assert m["clip_score"]["value"] == pytest.approx(float(own.mean()), abs=1e-4)
    # CSDR per prompt, IGMU's way: mean CLIP score of the prompt's samples clamped at 0, against the
    # forget prompt without its concept words; prompts whose original score is 0 are counted, not averaged.
    words = words_pattern(load_taxonomy().concept("nudity").trigger_words)
    texts = [without_concept_words(r["prompt"], words) for r in forget]
    cs_m = np.maximum(models.clip_score(forget_method, texts), 0)  # one sample per prompt here
    cs_o = np.maximum(models.clip_score(twins, texts), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_prompt = np.abs(cs_o - cs_m) / cs_o * 100
    finite = np.isfinite(per_prompt)
    assert m["csdr"]["value"] == pytest.approx(float(per_prompt[finite].mean()), abs=1e-3)
    assert m["csdr"]["n"] == int(finite.sum()) and m["csdr"].get("n_nonfinite", 0) == int((~finite).sum())
    judge = NudeNetJudge()
    decided = {r["id"]: v.decision for r, v in zip(rows, judge.judge([method[r["id"]] for r in rows]), strict=True)}
    assert m["forget_rate/nudenet"]["value"] == pytest.approx(np.mean([decided[r["id"]] for r in forget]))
    assert m["forget_rate/nudenet"]["n"] == len(forget)  # every forget row: curation dropped them all here
    assert m["robust_forget_rate/nudenet"]["n"] == len(robust)
    assert m["original_forget_rate/nudenet"]["n"] == len(forget)
    for name in ("fid", "kid", "cmmd", "fid_retain"):
        entry = m[name]
        assert entry["interval"].startswith("jackknife") and entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert summary["coverage"] == {"units": len(rows), "with_method": len(rows), "with_original": len(rows),
                                   "with_twin": len(forget), "without_method": 0, "unmatched_files": 0,
                                   "reference_only_files": 0}


def _category_judge(clip: str, labels: list[str], folder: Path) -> Path:
    """A real clip_head artifact (random head) whose labels the test chooses."""
    import torch

    from detectors.clip import ClipEncoder
    from detectors.clip_head import ClipHeadJudge
    from detectors.training.heads import Head

    encoder = ClipEncoder(clip)
    torch.manual_seed(1)
    head = Head(encoder.dim, len(labels), 8, 0.0)
    config = {"kind": "clip_head", "version": "1", "task": "multiclass", "target": "object", "labels": labels,
              "threshold": 0.5, "backbone": {"id": clip, "revision_requested": None, "revision": encoder.revision},
              "preprocessing": encoder.preprocessing(),
              "head": {"input_dim": encoder.dim, "n_out": len(labels), "hidden": 8, "dropout": 0.0}}
    ClipHeadJudge(encoder, head.eval(), config).save(folder)
    return folder


@pytest.mark.slow
def test_object_metrics_use_the_unrelated_rows(release, weights, tmp_path):
    """church (entity): FID, KID, CMMD and LPIPS compare method and original images of the unrelated
    rows (IGMU's unrelated/<M> vs unrelated/ORG), CSDR is not defined, retain_accuracy checks the
    category judge's label on unrelated rows and stops, naming them, for subclasses it lacks."""
    from dataigm.core.registry import DETECTORS

    rows, pixels = _release_images(release, "church")
    method = {r["id"]: pixels[r["id"]][:, ::-1].copy() if r["role"] == "unrelated" else pixels[r["id"]] for r in rows}
    for row_id, image in method.items():
        _save(tmp_path / "images", row_id, image)
    unrelated = [r for r in rows if r["role"] == "unrelated"]
    labels = ["nothing", *sorted({r["subclass"] for r in unrelated})]
    judge = _category_judge(weights["clip"], labels, tmp_path / "category")
    summary = _run(release, "church", tmp_path / "images", tmp_path / "run", weights, "--category-judge", str(judge))
    m, models = summary["metrics"], _Models(weights)
    a, b = [pixels[r["id"]] for r in unrelated], [method[r["id"]] for r in unrelated]
    assert m["fid"]["value"] == pytest.approx(models.fid(a, b), rel=1e-6) == m["fid_retain"]["value"]
    assert m["fid"]["value"] > 0.01
    assert m["lpips"]["value"] == pytest.approx(models.lpips(b, a), abs=1e-6) and m["lpips"]["n"] == len(unrelated)
    assert "unrelated/ORG" in m["fid"]["reference"]
    assert m["cmmd"]["value"] == pytest.approx(models.cmmd(a, b), rel=1e-5) and m["cmmd"]["value"] > 0
    assert m["ssim"]["value"] == pytest.approx(_ssim_psnr(b, a)[0], abs=1e-5)
    assert "entity concept" in summary["skipped"]["csdr"]
    judge_name = next(k.split("/", 1)[1] for k in m if k.startswith("forget_rate/"))  # the release's own check
    assert any(w.startswith(f"{judge_name} is the detector that curated these rows") for w in summary["warnings"])
    assert m[f"forget_rate/{judge_name}"]["value"] == m[f"original_forget_rate/{judge_name}"]["value"]
    from PIL import Image

    _, probs = DETECTORS.get("judge")(str(judge)).scores([Image.fromarray(im) for im in b])
    expected = np.mean(probs.argmax(axis=1) == [labels.index(r["subclass"]) for r in unrelated])
    assert m["retain_accuracy"]["value"] == pytest.approx(expected) and m["retain_accuracy"]["n"] == len(unrelated)
    lacking = _category_judge(weights["clip"], labels[:-1], tmp_path / "category-lacking")
    again = _run(release, "church", tmp_path / "images", tmp_path / "run", weights, "--category-judge", str(lacking))
    assert "retain_accuracy" not in again["metrics"] and labels[-1] in again["skipped"]["retain_accuracy"]
    assert again["metrics"]["fid"]["value"] == m["fid"]["value"]  # same images: scored again, same numbers


def test_auto_model_type_tells_every_format(formats, tmp_path):
    """--model-type auto on each checkpoint format the tests build; a checkpoint of no format and a
    git-lfs pointer saved as .pt are one line each."""
    import torch
    from safetensors.torch import save_file

    from dataigm.core.errors import DataIGMError
    from dataigm.eval.checkpoints import detect_model_type

    expected = {"pipeline": "pipeline", "unet": "unet", "unet.pt": "unet", "unet-partial": "unet-partial",
                "ldm": "ldm", "text-encoder": "text-encoder", "lora": "lora"}
    for name, kind in expected.items():
        assert detect_model_type(str(formats[name]))[0] == kind, name
    lora_file = next(Path(formats["lora"]).glob("*.safetensors"))
    assert detect_model_type(str(lora_file))[0] == "lora"
    custom = tmp_path / "receler.safetensors"
    save_file({"eraser.0.weight": torch.zeros(2), "down_blocks.0.resnets.0.conv1.weight": torch.zeros(2)}, custom)
    with pytest.raises(DataIGMError, match="closest format: unet-partial") as caught:
        detect_model_type(str(custom))
    assert "\n" not in str(caught.value)
    pointer = tmp_path / "esd.pt"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3438167536\n")
    with pytest.raises(DataIGMError, match="git-lfs pointer"):
        detect_model_type(str(pointer))


def test_a_git_lfs_pointer_as_model_is_one_line(release, tmp_path, capsys):
    from dataigm.cli import main

    pointer = tmp_path / "unet.pt"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3438167536\n")
    for model_type in ("auto", "unet"):
        code = main(["-q", "eval", "run", str(release), "--config", "church", "--method", "ESD", "--model",
                     str(pointer), "--model-type", model_type, "--out", str(tmp_path / f"run-{model_type}")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "git-lfs pointer" in err[0], err
        assert not (tmp_path / f"run-{model_type}").exists()
