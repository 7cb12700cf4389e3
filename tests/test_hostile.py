"""Hostile inputs across every command: each gives one clean line on stderr, exit status != 0, no
traceback, and writes nothing outside its --out (the working directory stays empty)."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import smoke_build


def bomb_png(path: Path, width: int = 12000, height: int = 12000) -> Path:
    """A few hundred bytes whose header claims width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "release"
    smoke_build(out, ["church", "nudity"])
    return out


def csv_file(tmp: Path, text: str = "prompt\na cat\n", name: str = "set.csv") -> Path:
    (tmp / name).write_text(text)
    return tmp / name


def evil_yolo(tmp: Path) -> Path:
    """A YOLO judge artifact whose stored architecture carries code in `activation`."""
    import torch
    from safetensors.torch import save_file

    folder = tmp / "evil-judge"
    folder.mkdir()
    save_file({"w": torch.zeros(1)}, folder / "model.safetensors")
    payload = f"__import__('pathlib').Path({str(tmp / 'PWNED')!r}).write_text('x')"
    yaml = {"nc": 2, "activation": payload, "backbone": [[-1, 1, "Conv", [16, 3, 2]]], "head": [[-1, 1, "Classify",
                                                                                                  [2]]]}
    (folder / "config.json").write_text(json.dumps({
        "kind": "yolo_cls", "version": "1", "target": "church", "labels": ["other_object", "church"],
        "names": ["other_object", "church"], "threshold": 0.5, "arch": "yolov8n-cls.yaml", "yaml": yaml, "imgsz": 32}))
    (folder / "README.md").write_text("x")
    return folder


Case = tuple[str, list[str], Callable[[Path, Path], None] | None, str]

CASES: list[Case] = [
    # build
    ("build: empty --out", ["build", "--preset", "smoke", "--out", ""], None, "--out is empty"),
    ("build: nothing to build", ["build", "--out", "{tmp}/o"], None, "say what to build"),
    ("build: --out is a file", ["build", "--preset", "smoke", "--out", "{tmp}/file"],
     lambda t, r: (t / "file").write_text("x"), "exists and is not a folder"),
    ("build: --out holds foreign files", ["build", "--preset", "smoke", "--out", "{tmp}/docs"],
     lambda t, r: ((t / "docs").mkdir(), (t / "docs" / "README.md").write_text("mine")), "holds other files"),
    ("build: --shard-size 0", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--shard-size", "0"], None,
     "--shard-size must be >= 1"),
    ("build: negative --count", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--count", "-3"], None,
     "--count must be >= 1"),
    ("build: --images-per-prompt 0", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--images-per-prompt", "0"],
     None, "--images-per-prompt must be >= 1"),
    ("build: --image-limit 0", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--image-limit", "0"], None,
     "--image-limit must be >= 1"),
    ("build: --batch-size 0", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--batch-size", "0"], None,
     "--batch-size must be >= 1"),
    ("build: --shard 3/2", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--shard", "3/2"], None,
     "0 <= RANK < TASKS"),
    ("build: --shard abc", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--shard", "abc"], None,
     "expected RANK/TASKS"),
    ("build: --steps 0", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--steps", "0"], None,
     "--steps must be >= 1"),
    ("build: --height 63", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--height", "63"], None,
     "--height must be a positive multiple of 8"),
    ("build: negative --seed", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--seed", "-1"], None,
     "--seed must be in 0..2**64-1"),
    ("build: --seed 2**64", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--seed", str(2**64)], None,
     "--seed must be in 0..2**64-1"),
    ("build: unknown scheduler", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--scheduler", "eulr"], None,
     "did you mean 'euler'"),
    ("build: unknown concept", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--concept", "nudiy"], None,
     "did you mean 'nudity'"),
    ("build: --clip-threshold 1.5", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--clip-threshold", "1.5"],
     None, "--clip-threshold must be in 0..1"),
    ("build: --judge missing", ["build", "--preset", "smoke", "--out", "{tmp}/o", "--judge",
                                       "{tmp}/nothing"], None, "not a judge artifact"),
    ("build: resume with another batch size", ["build", "--preset", "smoke", "--out", "{tmp}/rel", "--concept",
                                               "church", "--batch-size", "3"],
     lambda t, r: shutil.copytree(r, t / "rel"), "--batch-size 8 -> 3"),
    # prompts
    ("prompts: --count 0", ["prompts", "generate", "church", "--out", "{tmp}/p", "--count", "0"], None,
     "--count must be >= 1"),
    ("prompts: unknown concept", ["prompts", "generate", "chruch", "--out", "{tmp}/p"], None, "did you mean 'church'"),
    ("prompts import: missing file", ["prompts", "import", "{tmp}/none.csv", "--out", "{tmp}/p"], None,
     "none.csv: no such file"),
    ("prompts import: no prompt column", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p"],
     lambda t, r: csv_file(t, "text\na cat\n"), "no 'prompt' column"),
    ("prompts import: --name with a path", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p", "--name",
                                            "../../x"], lambda t, r: csv_file(t), "use only [a-z0-9_-]+"),
    ("prompts import: --name '*'", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p", "--name", "*"],
     lambda t, r: csv_file(t), "use only [a-z0-9_-]+"),
    ("prompts import: --name a concept", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p", "--name",
                                          "nudity"], lambda t, r: csv_file(t), "is a concept or category"),
    ("prompts import: unknown format", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p", "--format", "xls"],
     lambda t, r: csv_file(t), "unknown --format"),
    ("prompts import: seed out of range", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p"],
     lambda t, r: csv_file(t, f"prompt,sd_seed\na cat,{2**64}\n"), "outside 0..2**64-1"),
    ("prompts import: odd image width", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p"],
     lambda t, r: csv_file(t, "prompt,width\na cat,63\n"), "must be a multiple of 8"),
    ("prompts import: broken JSON", ["prompts", "import", "{tmp}/set.json", "--out", "{tmp}/p"],
     lambda t, r: (t / "set.json").write_text("{oops"), "not valid JSON"),
    ("prompts import: unknown --attacks", ["prompts", "import", "{tmp}/set.csv", "--out", "{tmp}/p", "--attacks",
                                           "nudiy"], lambda t, r: csv_file(t), "did you mean 'nudity'"),
    # pack, status, curate
    ("pack: no plan", ["pack", "{tmp}/empty"], lambda t, r: (t / "empty").mkdir(), "has no build plan"),
    ("pack: corrupt plan", ["pack", "{tmp}/rel"],
     lambda t, r: (shutil.copytree(r, t / "rel"), (t / "rel" / "_build" / "plan.json").write_text("{not json")),
     "corrupt build plan"),
    ("status: no plan", ["status", "{tmp}/empty"], lambda t, r: (t / "empty").mkdir(), "has no build plan"),
    ("curate: no plan", ["curate", "{tmp}/empty"], lambda t, r: (t / "empty").mkdir(), "has no build plan"),
    ("curate: judge is not an artifact", ["curate", "{tmp}/rel", "--judge", "{tmp}"],
     lambda t, r: shutil.copytree(r, t / "rel"), "not a judge artifact"),
    # judges
    ("judge: output type", ["judge", "--judge", "nudenet", "{tmp}", "--out", "{tmp}/o/v.txt"], None,
     "use a .csv or .parquet"),
    ("judge: not an artifact", ["judge", "--judge", "{tmp}/nothing", "{tmp}", "--out", "{tmp}/o/v.csv"], None,
     "not 'nudenet', not a judge artifact folder and not a Hub id"),
    ("judge: decompression bomb", ["judge", "--judge", "nudenet", "{tmp}/imgs", "--out", "{tmp}/o/v.csv"],
     lambda t, r: ((t / "imgs").mkdir(), bomb_png(t / "imgs" / "bomb.png")), "pixel limit"),
    ("judge: no images", ["judge", "--judge", "nudenet", "{tmp}/imgs", "--out", "{tmp}/o/v.csv"],
     lambda t, r: (t / "imgs").mkdir(), "no images"),
    ("judge: corrupt judge config", ["judge", "--judge", "{tmp}/j", "{tmp}", "--out", "{tmp}/o/v.csv"],
     lambda t, r: ((t / "j").mkdir(), (t / "j" / "config.json").write_text("{x"),
                   (t / "j" / "model.safetensors").write_bytes(b"0")), "corrupt judge config"),
    ("judge: YOLO artifact with code in its yaml", ["judge", "--judge", "{tmp}/evil-judge", "{tmp}/imgs", "--out",
                                                    "{tmp}/o/v.csv"],
     lambda t, r: (evil_yolo(t), (t / "imgs").mkdir()), "refusing to build it"),
    ("train-judge: missing data", ["train-judge", "church", "{tmp}/nothing", "--out", "{tmp}/j"], None,
     "nothing"),
    ("train-judge: --epochs 0", ["train-judge", "church", "{tmp}/nothing", "--epochs", "0", "--out",
                                 "{tmp}/j"], None, "--epochs must be >= 1"),
    ("train-judge: no RELEASE", ["train-judge", "church", "--out", "{tmp}/j"], None, "give the RELEASE to read"),
    ("train-judge: category absent", ["train-judge", "style", "{release}", "--out", "{tmp}/j"], None,
     "no image config of the category 'style'"),
    # publishing and info
    ("publish: repo without org", ["publish", "{release}", "--repo", "dataigm", "--version", "1.0.0"], None,
     "expected ORG/NAME"),
    ("publish: bad version", ["publish", "{release}", "--repo", "o/d", "--version", "1.0"], None, "expected X.Y.Z"),
    ("publish: not a release", ["publish", "{tmp}/empty", "--repo", "o/d", "--version", "1.0.0", "--dry-run"],
     lambda t, r: (t / "empty").mkdir(), "not a packed release"),
    ("publish: nsfw flag edited in the manifest", ["publish", "{tmp}/rel", "--repo", "o/d", "--version", "1.0.0",
                                                   "--dry-run"],
     lambda t, r: _ungate(shutil.copytree(r, t / "rel")), "gating follows the taxonomy"),
    ("publish: card YAML corrupt", ["publish", "{tmp}/rel", "--repo", "o/d", "--version", "1.0.0", "--dry-run"],
     lambda t, r: (shutil.copytree(r, t / "rel"), (t / "rel" / "README.md").write_text("---\nconfigs: [\n---\n")),
     "README"),
    ("info: Hub offline", ["info", "org/nothing"], None, "HF_HUB_OFFLINE is set"),
    ("info: neither folder nor id", ["info", "nothing-here"], None, "neither a release folder nor a Hub id"),
    # evaluation and verification
    ("eval run: no model and no images", ["eval", "run", "--method", "m", "--out", "{tmp}/e"], None,
     "give exactly one of --model or --images"),
    ("eval run: bad method name", ["eval", "run", "--method", "My Method", "--out", "{tmp}/e", "--images", "{tmp}"],
     None, "--method 'My Method': use only"),
    ("eval run: unknown config", ["eval", "run", "{release}", "--config", "nope", "--method", "m",
                                  "--out", "{tmp}/e", "--images", "{tmp}"], None, "nope"),
    ("eval run: model without source", ["eval", "run", "--method", "m", "--out", "{tmp}/e", "--model", "{tmp}"], None,
     "--model needs the RELEASE"),
    ("eval compare: not a run", ["eval", "compare", "{tmp}", "--out", "{tmp}/t.md"], None, "not an evaluation run"),
    ("eval compare: output type", ["eval", "compare", "{tmp}", "--out", "{tmp}/t.xls"], None, "use a .md"),
    ("verify: nothing there", ["verify", "{tmp}/nothing"], None, "neither a release folder nor a Hub id"),
    ("verify: negative sample", ["verify", "{release}", "--sample", "-1"], None, "--sample must be in"),
    ("verify: --out not a .csv", ["verify", "{release}", "--out", "{tmp}/report.txt"], None, "use a .csv file name"),
    ("verify: unknown config", ["verify", "{release}", "--config", "nope"], None, "--config nope: not in"),
    # taxonomy and plug-ins
    ("concepts: unknown category", ["concepts", "--category", "nsfv"], None, "did you mean 'nsfw'"),
]


def _ungate(folder: Path) -> None:
    manifest = json.loads((folder / "dataigm.json").read_text())
    manifest["configs"]["nudity"]["nsfw"] = False
    (folder / "dataigm.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(("name", "args", "setup", "message"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_clean_line(name, args, setup, message, release, tmp_path, monkeypatch, capsys):
    from dataigm.cli import main

    work = tmp_path / "case"
    work.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    if setup is not None:
        setup(work, release)
    before = {p for p in work.rglob("*")}
    code = main([a.format(tmp=work, release=release) for a in args])
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line]
    assert code not in (0, None), (name, err)
    assert len(lines) == 1 and lines[0].startswith("dataigm: error: ") and message in lines[0], (name, err)
    assert "Traceback" not in err
    assert not list(cwd.iterdir()), f"{name} wrote into the working directory"
    assert not (work / "PWNED").exists(), "the YOLO payload ran"
    new = {p for p in work.rglob("*")} - before
    outs = [a.format(tmp=work, release=release) for a in args]
    allowed = [Path(o) for o, prev in zip(outs, ["", *outs], strict=False) if prev in ("--out",)]
    for path in new:
        assert any(path == a or a in path.parents for a in allowed), f"{name} wrote {path} outside --out"


def test_at_least_forty_hostile_inputs():
    assert len(CASES) >= 40


def test_decompression_bomb_costs_no_memory(tmp_path):
    import resource

    from dataigm.core.errors import DataIGMError
    from dataigm.core.images import read_image

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataIGMError, match="pixel limit"):
        read_image(bomb_png(tmp_path / "bomb.png"))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no 3.8 GB decode
