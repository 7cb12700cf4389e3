"""Bad input loses nothing and leaves nothing (issue 20): every verb that writes, given one bad
input, ends with exit status 2, one line `dataigm: error: ...` and no traceback, and every folder
around it is byte for byte what it was: a new --out is not created (nor its parents), an existing
dataigm folder of the right kind (or one from before owner markers) keeps every file, marker and
lock file as they were, an existing output file keeps its bytes, and no plot lands in an input.

The bad inputs are the ones a verb can only find late: after it would have locked and marked its
folder, or after generation (a --clip or --person-check that cannot load, an engine that cannot
start, an option that only the generation settings check)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, smoke_build

PERSON = FIXTURES / "images" / "person"
FOLDERS = ("rel", "prompts", "judge", "run")  # the dataigm folders of each kind, copied into every case


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    """A release (church), a prompt folder, a judge artifact trained on the release and an
    evaluation run, each written by dataigm itself."""
    from dataigm.cli import main

    root = tmp_path_factory.mktemp("left-behind")
    smoke_build(root / "rel", ["church"], image_limit=2, shard_size=8)
    clip = str(root / "rel" / "_build" / "tiny-clip")
    for argv in (["prompts", "generate", "church", "--count", "2", "--out", str(root / "prompts")],
                 ["train-judge", "church", str(root / "rel"), "--backbone", clip, "--epochs", "3", "--no-compare",
                  "--out", str(root / "judge")],
                 ["eval", "run", "--images", str(PERSON), "--method", "m", "--bootstrap", "10", "--out",
                  str(root / "run")]):
        assert main(["-q", *argv, *(["--no-progress"] if argv[0] != "prompts" else [])]) == 0, argv
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every path under `root`: a folder, or a file's sha256."""
    return {str(p.relative_to(root)): "folder" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))}


def _drop_shard(work: Path) -> None:
    shard = sorted((work / "rel" / "_build" / "images" / "church").glob("*.parquet"))[0]
    shard.unlink()


def _edit_counts(work: Path) -> None:
    manifest = json.loads((work / "rel" / "dataigm.json").read_text())
    manifest["configs"]["church"]["status"]["ok"] = 999
    (work / "rel" / "dataigm.json").write_text(json.dumps(manifest))


def _text_as_png(work: Path) -> None:
    """A folder of images whose last file is text (found while judging, after the first images)."""
    (work / "imgs").mkdir()
    for image in sorted(PERSON.glob("*.png"))[:2]:
        shutil.copy(image, work / "imgs" / image.name)
    (work / "imgs" / "zz-notes.png").write_text("not an image")


def _their_results(work: Path) -> None:
    """Someone's folder holding files shaped like a run's outputs (no owner marker)."""
    (work / "theirs").mkdir()
    for name in ("summary.json", "per_image.parquet"):
        shutil.copy(work / "run" / name, work / "theirs" / name)


def _nan_summary(work: Path) -> None:
    _their_results(work)
    summary = work / "theirs" / "summary.json"
    summary.write_text(summary.read_text().replace('"n_rows"', '"bad": NaN, "n_rows"', 1))


Setup = Callable[[Path], None] | None
# (case, argv, target, setup, message). {out} is the target, {w} the case's folder, {rel} its release.
# target "folder:<kind>": (a) a new --out two levels below missing folders, (b) the folder of that kind;
# "file:<suffix>": (a) a new --out file, (b) a file there already; "release": the RELEASE the verb
# works on, (b) as written, (c) from before owner markers (no marker: a failed verb must not add one).
CASES: list[tuple[str, list[str], str, Setup, str]] = [
    ("build: an unknown --dtype", ["build", "--preset", "smoke", "--concept", "church", "--dtype", "fp7", "--out",
                                   "{out}"], "folder:rel", None, "--dtype must be one of"),
    ("build: a --clip that is nowhere", ["build", "--preset", "smoke", "--concept", "church", "--clip", "{w}/no-clip",
                                         "--out", "{out}"], "folder:rel", None, "no such folder, and not a Hub id"),
    ("build: a --person-check ultralytics does not ship", ["build", "--preset", "smoke", "--concept", "nudity",
                                                           "--person-check", "yolov8z.yaml", "--out", "{out}"],
     "folder:rel", None, "'yolov8z.yaml' is not shipped with ultralytics"),
    ("build: --engine slurm without --partition", ["build", "--preset", "smoke", "--concept", "church", "--engine",
                                                   "slurm", "--out", "{out}"], "folder:rel", None,
     "--engine slurm needs --partition"),
    ("prompts generate: a negative --seed", ["prompts", "generate", "church", "--seed", "-1", "--out", "{out}"],
     "folder:prompts", None, "--seed must be in 0..2**64-1, got -1"),
    ("prompts import: a --seed past 2**64-1", ["prompts", "import", "{w}/set.csv", "--seed", str(2**64), "--out",
                                               "{out}"], "folder:prompts",
     lambda w: (w / "set.csv").write_text("prompt\na red barn\n"), "--seed must be in 0..2**64-1"),
    ("train-judge: an architecture ultralytics does not ship", ["train-judge", "church", "{rel}", "--kind", "yolo",
                                                                "--yolo-model", "nope.yaml", "--out", "{out}"],
     "folder:judge", None, "'nope.yaml' is not shipped with ultralytics"),
    ("train-judge: a --backbone-revision for a local folder", ["train-judge", "church", "{rel}", "--backbone",
                                                               "{rel}/_build/tiny-clip", "--backbone-revision", "main",
                                                               "--out", "{out}"], "folder:judge", None,
     "a revision applies to a Hub id only"),
    ("eval run: a --model that is nowhere", ["eval", "run", "{rel}", "--config", "church", "--method", "m", "--model",
                                             "{w}/no-model", "--out", "{out}"], "folder:run", None,
     "no such file or folder, and not a Hub id"),
    ("eval run: --engine slurm without --partition", ["eval", "run", "{rel}", "--config", "church", "--method", "m",
                                                      "--model", "{rel}/_build/tiny-model", "--engine", "slurm",
                                                      "--out", "{out}"], "folder:run", None,
     "--engine slurm needs --partition"),
    ("curate: a --clip that is nowhere", ["curate", "{out}", "--clip", "{w}/no-clip"], "release", None,
     "no such folder, and not a Hub id"),
    ("curate: --person-check weights that are not there", ["curate", "{out}", "--person-check", "{w}/no.pt"],
     "release", None, "no such file"),
    ("pack: a generated shard missing", ["pack", "{out}"], "release", _drop_shard, "1 shard(s) not complete"),
    ("verify: an unknown --config", ["verify", "{out}", "--config", "nope"], "release", None, "--config nope: not in"),
    ("publish --dry-run: counts edited in the manifest", ["publish", "{out}", "--repo", "o/d", "--version", "1.0.0",
                                                          "--dry-run"], "release", _edit_counts,
     "the manifest says status"),
    ("verify --out: an unknown --config", ["verify", "{rel}", "--config", "nope", "--out", "{out}"], "file:.csv",
     None, "--config nope: not in"),
    ("judge: a text file named .png among the images", ["judge", "{w}/imgs", "--judge", "nudenet", "--out", "{out}"],
     "file:.csv", _text_as_png, "zz-notes.png: not a readable image"),
    ("report: an unknown --config", ["report", "{rel}", "{judge}", "--config", "nope", "--out", "{out}"],
     "file:.html", None, "--config nope: no image config of that name"),
    ("report: someone's folder shaped like a run", ["report", "{w}/theirs", "--out", "{out}"], "file:.html",
     _their_results, "not a dataigm folder"),
    ("eval compare: NaN in a received summary.json", ["eval", "compare", "{w}/theirs", "--out", "{out}"],
     "file:.md", _nan_summary, "NaN is not a JSON number"),
]

VARIANTS = {"folder": ("new", "existing"), "file": ("new", "existing"), "release": ("existing", "legacy")}


def _params():
    for name, argv, target, setup, message in CASES:
        for variant in VARIANTS[target.split(":")[0]]:
            yield pytest.param(name, argv, target, setup, message, variant, id=f"{name} [{variant}]")


def _target(work: Path, target: str, variant: str) -> Path:
    shape, _, what = target.partition(":")
    if shape == "release":
        if variant == "legacy":  # a release written before owner markers: a failed verb adds no marker
            (work / "rel" / "_build" / "owner.json").unlink()
        return work / "rel"
    if shape == "folder":
        return work / "new" / "below" / "out" if variant == "new" else work / what
    out = work / f"out{what}"
    if variant == "existing":
        out.write_bytes(b"someone's file, kept as it is\n")
    return out


@pytest.mark.parametrize(("name", "argv", "target", "setup", "message", "variant"), list(_params()))
def test_bad_input_leaves_every_folder_as_it_was(name, argv, target, setup, message, variant, folders, tmp_path,
                                                 monkeypatch, capsys):
    from dataigm.cli import main

    work, cwd = tmp_path / "work", tmp_path / "cwd"
    cwd.mkdir()
    for folder in FOLDERS:
        shutil.copytree(folders / folder, work / folder)
    monkeypatch.chdir(cwd)
    if setup is not None:
        setup(work)
    out = _target(work, target, variant)
    before = snapshot(work)
    code = main([a.format(out=out, w=work, rel=work / "rel", judge=work / "judge") for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (name, variant, err)
    assert len(lines) == 1 and lines[0].startswith("dataigm: error: ") and message in lines[0], (name, variant, err)
    assert "Traceback" not in err
    after = snapshot(work)
    assert after == before, {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                             "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k])}
    assert not list(cwd.iterdir()), f"{name} wrote into the working directory"


def test_every_writing_verb_is_in_the_table():
    """build, prompts generate/import, train-judge, curate, pack, judge, verify --out, publish
    --dry-run, report, eval run and eval compare: each with at least one bad input here."""
    verbs = {" ".join(argv[:2]) if argv[0] in ("prompts", "eval") else argv[0] for _, argv, *_ in CASES}
    assert {"build", "prompts generate", "prompts import", "train-judge", "curate", "pack", "judge", "verify",
            "publish", "report", "eval run", "eval compare"} <= verbs, verbs
    assert any("--out" in argv and argv[0] == "verify" for _, argv, *_ in CASES)


# -- core.folders.writing_folder: what a claim made is taken back when the verb fails before writing --


class Refused(Exception):
    """A verb's failure inside its folder."""


def _fail_inside(folder: Path, kind: str = "release", write: str | None = None,
                 error: type[BaseException] = Refused) -> None:
    from dataigm.core.folders import writing_folder

    with pytest.raises(error), writing_folder(str(folder), kind, "dataigm test"):
        if write:
            (folder / write).parent.mkdir(parents=True, exist_ok=True)
            (folder / write).write_text("a real result")
        raise error()


def test_a_new_folder_and_the_parents_its_lock_made_are_removed(tmp_path):
    _fail_inside(tmp_path / "a" / "b" / "out")
    assert not (tmp_path / "a").exists()
    empty = tmp_path / "empty"  # an empty folder given as --out stays, empty
    empty.mkdir()
    _fail_inside(empty, error=KeyboardInterrupt)
    assert empty.is_dir() and not list(empty.iterdir())


def test_a_failure_after_a_real_write_keeps_everything_for_the_rerun(tmp_path):
    out = tmp_path / "out"
    _fail_inside(out, write="_build/plan.json")
    assert (out / "_build" / "plan.json").read_text() == "a real result"
    assert json.loads((out / "_build" / "owner.json").read_text())["kind"] == "release"


def test_a_folder_from_before_markers_is_not_marked_by_a_failure(folders, tmp_path, capsys):
    from dataigm.core.logs import configure

    configure(0)
    legacy = shutil.copytree(folders / "rel", tmp_path / "rel")
    (legacy / "_build" / "owner.json").unlink()
    (legacy / "_build" / "folder.lock").unlink()
    before = snapshot(legacy)
    _fail_inside(legacy)
    assert snapshot(legacy) == before
    assert "owner markers" not in capsys.readouterr().err  # not said: it did not happen
    _fail_inside(legacy, write="notes/kept.txt")  # a failure after a real write: marked, and said
    assert json.loads((legacy / "_build" / "owner.json").read_text())["kind"] == "release"
    assert "written before owner markers; marked it as ours" in capsys.readouterr().err


def test_a_prompt_folder_stays_one_when_the_build_into_it_fails(folders, tmp_path):
    prompts = shutil.copytree(folders / "prompts", tmp_path / "prompts")
    before = snapshot(prompts)
    _fail_inside(prompts, kind="release")  # build claims it as a release, then fails before writing
    assert snapshot(prompts) == before
    assert json.loads((prompts / "_build" / "owner.json").read_text())["kind"] == "prompts"


def test_a_lock_file_removed_while_waiting_for_it_is_opened_again(tmp_path, monkeypatch):
    """A writer that made a folder and failed removes it, lock file and all, before letting go;
    whoever was waiting on that lock then holds a file no longer on disk, so it opens the folder's
    lock again (else a third writer would lock a new file beside it)."""
    import os

    from dataigm.core import folders as folder_module

    out = tmp_path / "out"
    acquired = []
    real_acquire = folder_module._acquire

    def acquire_as_the_first_writer_leaves(fd, *args):
        real_acquire(fd, *args)
        if not acquired:
            shutil.rmtree(out)
        acquired.append(fd)

    monkeypatch.setattr(folder_module, "_acquire", acquire_as_the_first_writer_leaves)
    with folder_module.folder_lock(str(out), "dataigm test") as held:
        assert len(acquired) == 2
        assert os.fstat(held.fd).st_ino == (out / "_build" / "folder.lock").stat().st_ino
