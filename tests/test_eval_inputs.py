"""What `eval run` reads and where it writes: image modes decoded explicitly, ambiguous files
refused, missing references counted, run folders owned (never a release or a user's files), a
changed input refused instead of resumed; method names; intervals of set metrics that hold their
estimate; README's metric table in step with the definitions."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
README = Path(__file__).resolve().parents[1] / "README.md"


def _main(*args: str) -> tuple[int, str, str]:
    import contextlib

    from dataigm.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _encoded(image: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", **save)
    return buf.getvalue()


def test_image_modes_are_decoded_explicitly():
    """16-bit grey keeps its top 8 bits (Pillow's convert makes it white); 16-bit RGB, palettes,
    grey and opaque alpha give the pixels they show; transparency is composited over white."""
    import cv2

    from dataigm.core.images import decode

    grey16 = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    decoded = np.asarray(decode(_encoded(Image.fromarray(grey16)), "grey16"))
    assert decoded.shape == (64, 64, 3) and np.array_equal(decoded[..., 0], (grey16 >> 8).astype(np.uint8))
    assert decoded.mean() < 200  # not white
    rgb16 = np.stack([grey16, grey16 // 2, grey16 // 4], axis=-1)
    ok, png = cv2.imencode(".png", rgb16[..., ::-1])  # 48-bit PNG
    assert ok and np.array_equal(np.asarray(decode(png.tobytes(), "rgb16")), (rgb16 >> 8).astype(np.uint8))
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    opaque = np.dstack([rgb, np.full((16, 16), 255, np.uint8)])
    assert np.array_equal(np.asarray(decode(_encoded(Image.fromarray(opaque, "RGBA")), "rgba")), rgb)
    clear = np.dstack([rgb, np.zeros((16, 16), np.uint8)])
    assert (np.asarray(decode(_encoded(Image.fromarray(clear, "RGBA")), "clear")) == 255).all()
    half = np.dstack([np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 128, np.uint8)])
    assert np.asarray(decode(_encoded(Image.fromarray(half, "RGBA")), "half"))[0, 0].tolist() == [127, 127, 127]
    grey = rgb[..., 0]
    assert np.array_equal(np.asarray(decode(_encoded(Image.fromarray(grey, "L")), "L"))[..., 1], grey)
    la = Image.fromarray(np.dstack([grey, np.full_like(grey, 255)]), "LA")
    assert np.array_equal(np.asarray(decode(_encoded(la), "LA"))[..., 2], grey)
    palette = Image.fromarray(rgb).quantize(8)
    assert np.array_equal(np.asarray(decode(_encoded(palette), "P")), np.asarray(palette.convert("RGB")))
    palette.info["transparency"] = 0
    see_through = np.asarray(decode(_encoded(palette, transparency=0), "P+t"))
    hidden = np.asarray(palette) == 0
    assert hidden.any() and (see_through[hidden] == 255).all()


def test_two_images_for_one_name_are_refused(tmp_path):
    folder = tmp_path / "images"
    shutil.copytree(IMAGES / "person", folder)
    first = sorted(folder.iterdir())[0]
    Image.open(first).convert("RGB").save(first.with_suffix(".jpg"))
    code, _, err = _main("-q", "eval", "run", "--images", str(folder), "--method", "m", "--out", str(tmp_path / "r"))
    assert code == 2 and first.name in err and first.with_suffix(".jpg").name in err and "keep one" in err


def test_missing_reference_files_are_counted_not_dropped(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    for path in sorted((IMAGES / "other_style").iterdir())[:6]:
        shutil.copy(path, reference / path.name)
    code, _, err = _main("-q", "eval", "run", "--images", str(IMAGES / "van_gogh"), "--reference", str(reference),
                         "--method", "m", "--judge", "nudenet", "--out", str(tmp_path / "r"), "--bootstrap", "20")
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["metrics"]["flag_rate/nudenet"]["n"] == 10  # every method image is judged
    assert summary["metrics"]["ssim"]["n"] == 6 and summary["metrics"]["ssim"]["n_missing"] == {"reference": 4}
    assert summary["coverage"]["with_original"] == 6 and summary["coverage"]["units"] == 10


def test_run_folders_are_owned(tmp_path):
    """--out is checked by the folders every verb shares (core.folders): a release, someone's folder
    holding a summary.json or manifest.json, a file or a path under one are refused in one line and
    left as they were; a run of ours is marked as a run, and one written before owner markers is
    accepted and marked on its next run, saying so once."""
    release = tmp_path / "release"
    release.mkdir()
    (release / "dataigm.json").write_text('{"schema_version": 1, "configs": {"church": {"kind": "images"}}}')
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"my": "own"}')
    (tmp_path / "file").write_text("x")
    base = ["-q", "eval", "run", "--images", str(IMAGES / "person"), "--method", "m", "--bootstrap", "20", "--out"]
    for out, message in ((release, "is a dataigm release folder, not an evaluation run folder"),
                         (mine, "holds other files and is not a dataigm folder"),
                         (tmp_path / "file", "exists and is not a folder"),
                         (tmp_path / "file" / "run", "is a file, not a folder")):
        code, _, err = _main(*base, str(out))
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert (mine / "manifest.json").read_text() == '{"my": "own"}' and sorted(p.name for p in mine.iterdir()) == [
        "manifest.json"]
    assert sorted(p.name for p in release.iterdir()) == ["dataigm.json"]
    run = tmp_path / "run"
    assert _main(*base, str(run))[0] == 0
    assert json.loads((run / "_build" / "owner.json").read_text())["kind"] == "run"
    (run / "_build" / "owner.json").unlink()  # a run written before owner markers: its plan says it is a run
    code, _, err = _main("eval", "run", *base[3:], str(run))
    assert code == 0 and err.count("written before owner markers; marked it as ours") == 1, err
    assert json.loads((run / "_build" / "owner.json").read_text())["kind"] == "run"


def test_a_changed_input_is_refused_not_resumed(tmp_path):
    """The run's fingerprint covers every image file's name, size and digest: the same command
    resumes, other images or a changed file are refused naming the difference."""
    images = tmp_path / "images"
    shutil.copytree(IMAGES / "person", images)
    args = ["-q", "eval", "run", "--images", str(images), "--method", "m", "--out", str(tmp_path / "r"),
            "--bootstrap", "20"]
    assert _main(*args)[0] == 0
    assert _main(*args)[0] == 0  # the same inputs: a resume
    other = ["-q", "eval", "run", "--images", str(IMAGES / "van_gogh"), "--method", "m", "--out",
             str(tmp_path / "r"), "--bootstrap", "20"]
    code, _, err = _main(*other)
    assert code == 2 and "van_gogh" in err
    changed = sorted(images.iterdir())[3]
    Image.open(IMAGES / "church" / sorted(p.name for p in (IMAGES / "church").iterdir())[0]).save(changed)
    code, _, err = _main(*args)
    assert code == 2 and changed.name in err and "changed" in err, err


@pytest.mark.parametrize("name", ["ESD", "AdvUnlearn", "ConcptPrune", "DoCoPreG", "sd-1.4_esd"])
def test_method_names_keep_their_case(name):
    from dataigm.eval.plan import check_method_name

    assert check_method_name(name) == name


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "-rf", "", "a b", "x" * 101, "ü"])
def test_unsafe_method_names_are_refused(name):
    from dataigm.core.errors import DataIGMError
    from dataigm.eval.plan import check_method_name

    with pytest.raises(DataIGMError, match="--method"):
        check_method_name(name)


def test_set_metric_intervals_hold_their_estimate():
    """FID and CMMD on small clustered sets: the jackknife interval holds the estimate (resampling
    images with replacement duplicates them, which biases these distances upwards), and it covers
    a mean difference that is there."""
    from dataigm.eval.metrics import cmmd, frechet_distance
    from dataigm.eval.stats import cluster_bootstrap, jackknife_interval

    rng = np.random.default_rng(0)
    outside = 0
    for trial in range(10):
        prompts = np.repeat(rng.normal(0, 1, (15, 32)), 3, axis=0)
        a = prompts + rng.normal(0, 0.5, prompts.shape)
        b = prompts + 0.4 + rng.normal(0, 0.5, prompts.shape)
        clusters = [str(i // 3) for i in range(len(a))]
        for fn in (frechet_distance, cmmd):
            value = fn(a, b)
            low, high, why = jackknife_interval(lambda idx, fn=fn, a=a, b=b: fn(a[idx], b[idx]), value, clusters)
            assert why is None and low <= value <= high and high > low
        value = frechet_distance(a, b)
        low, _ = cluster_bootstrap(lambda idx, a=a, b=b: frechet_distance(a[idx], b[idx]), clusters, 200, seed=trial)
        outside += low > value
    assert outside >= 8  # the with-replacement bootstrap's interval misses the FID estimate
    low, high, why = jackknife_interval(lambda idx: 0.0, 0.0, ["a", "b"])
    assert why == "fewer than 3 prompts: no interval" and np.isnan(low) and np.isnan(high)


def test_the_readme_metric_table_is_the_definitions():
    from dataigm.eval.definitions import markdown_table

    assert markdown_table() in README.read_text()
