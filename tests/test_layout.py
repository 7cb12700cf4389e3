"""The layout: one-way layers (import-linter contracts), plug-in categories from a folder with no
edit elsewhere, and optional extras whose absence is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """Core below everything; builders/detectors reach only the core; cards depend on nothing of
    the project; layers inside dataigm; no cycles between siblings (pyproject [tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_top_level_packages_form_a_one_way_graph():
    import grimp

    graph = grimp.build_graph("dataigm", "builders", "detectors", "cards", cache_dir=None)
    edges = {(module.split(".")[0], imported.split(".")[0]) for module in graph.modules
             for imported in graph.find_modules_directly_imported_by(module)}
    edges = {(a, b) for a, b in edges if a != b}
    assert edges == {("builders", "dataigm"), ("detectors", "dataigm"), ("dataigm", "cards")}


PLUGIN_BUILDER = '''
"""A throwaway category for the plug-in test: its own recipe and its own curation rule."""
from pathlib import Path

from builders.base import CategoryBuilder
from dataigm.core.curation import Check
from dataigm.core.registry import BUILDERS


@BUILDERS.register("zoo")
class ZooBuilder(CategoryBuilder):
    category = "zoo"
    shape = "attribute"
    roles = ("forget", "retain", "robustness")
    recipe_file = Path(__file__).with_name("zoo.yaml")

    def concept_checks(self, concept, options):
        # "Every forget image must be blank" at a threshold no image meets (std < 0): all forget rows drop.
        return (Check("stripes", "blank", {"threshold": 0.0}, {"forget": True}, "zebra stripes"),)
'''

PLUGIN_TAXONOMY = '''
categories:
  zoo:
    description: A throwaway category.
    concepts:
      zebra_stripes:
        shape: attribute
        trigger_words: [zebra-striped, striped]
        subclasses: [animal, thing]
        label_names: [plain, striped]
        images_per_prompt: 1
'''

PLUGIN_RECIPE = '''
version: 1
grammars:
  animal:
    modifiers: ["{a} photo of", "{a} drawing of"]
    subjects: ["{a} horse", "{a} cat", "{a} goat"]
    actions: ["standing", "resting", "running"]
    settings: ["in a field", "in a barn", "by a river"]
  thing:
    modifiers: ["{a} photo of", "{a} drawing of"]
    subjects: ["{a} sofa", "{a} mug", "{a} kite"]
    actions: ["", "on display"]
    settings: ["in a shop", "on a table", "in a garden"]
concepts:
  zebra_stripes:
    subclasses: {animal: animal, thing: thing}
    forget: {before_subject: [zebra-striped, striped]}
    robustness:
      synonym: {before_subject: [banded, barred]}
      paraphrase: {after_subject: ["with black and white bands"]}
      misspelling: derived
      translation: {before_subject: [gestreift, rayado]}
      implicit: {after_subject: ["with the coat of a savanna horse"]}
    sizes: {forget: 10, robustness: 5}
'''


@pytest.mark.slow
def test_a_new_category_is_one_folder_and_no_edit_elsewhere(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "zoo_builder.py").write_text(textwrap.dedent(PLUGIN_BUILDER))
    (plugins / "zoo.yaml").write_text(PLUGIN_RECIPE)
    (plugins / "taxonomy.yaml").write_text(PLUGIN_TAXONOMY)
    env = {**os.environ, "DATAIGM_PLUGINS": str(plugins)}
    cli = [sys.executable, "-m", "dataigm.cli"]
    shown = subprocess.run([*cli, "concepts", "--category", "zoo"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "zoo/  (1 concepts; builder zoo)" in shown.stdout and "zebra_stripes" in shown.stdout
    out = tmp_path / "release"
    built = subprocess.run([*cli, "-q", "build", "--preset", "smoke", "--out", str(out), "--concept", "zoo",
                            "--image-limit", "2", "--no-progress"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stderr
    from tests.conftest import load_release

    rows = [r for s in load_release(out, "zebra_stripes").values() for r in s]
    assert {r["role"] for r in rows} == {"forget", "retain", "robustness"}
    for row in rows:
        checks = {v["check"] for v in row["verdicts"]}
        assert {"blank", "stripes"} <= checks
        if row["role"] == "forget":  # the plug-in's own rule decided
            assert row["status"] == "dropped" and "not_blank" in row["reason_codes"], row
            assert "forget images must show zebra stripes" in row["reason"]
    # Without the plug-in folder the category does not exist: nothing was edited elsewhere.
    plain = subprocess.run([*cli, "concepts", "zebra_stripes"], capture_output=True, text=True)
    assert plain.returncode == 2 and "unknown concept 'zebra_stripes'" in plain.stderr


# -- optional extras ------------------------------------------------------------------------------

HEAVY = ("torch", "torchvision", "diffusers", "transformers", "accelerate", "safetensors", "nudenet", "ultralytics",
         "sklearn", "datatrove", "ray", "torchmetrics", "peft", "scipy", "matplotlib", "onnxruntime", "cv2")


def site_without(tmp_path: Path, missing: tuple[str, ...]) -> Path:
    """A site-packages of symlinks to this environment's, minus the `missing` top-level modules."""
    import sysconfig
    import tempfile

    site = Path(sysconfig.get_paths()["purelib"])
    farm = Path(tempfile.mkdtemp(prefix="site-", dir=tmp_path))
    for entry in site.iterdir():
        name = entry.name.split(".")[0].split("-")[0]
        if name in missing or entry.suffix == ".pth":
            continue
        (farm / entry.name).symlink_to(entry)
    return farm


def run_without(tmp_path: Path, missing: tuple[str, ...], *args: str) -> subprocess.CompletedProcess:
    farm = site_without(tmp_path, missing)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{farm}"}
    return subprocess.run([sys.executable, "-S", "-m", "dataigm.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_core_verbs_need_no_extra(tmp_path):
    out = tmp_path / "p"
    result = run_without(tmp_path, HEAVY, "prompts", "generate", "church", "--out", str(out), "--count", "10")
    assert result.returncode == 0, result.stderr
    info = run_without(tmp_path, HEAVY, "info", str(out))
    assert info.returncode == 0 and "church-prompts" in info.stdout, info.stderr
    script = f"import dataigm; print(len(dataigm.load('church-prompts', {str(out)!r})['train']))"
    farm = site_without(tmp_path, HEAVY)
    loaded = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{farm}"})
    assert loaded.returncode == 0 and int(loaded.stdout.split()[-1]) > 0, loaded.stderr[-2000:]


@pytest.mark.parametrize(("missing", "args", "extra"), [
    (("torch", "diffusers"), ("build", "--preset", "smoke", "--out", "{out}"), "build"),
    (("nudenet",), ("judge", "--judge", "nudenet", "{out}", "--out", "{out}/v.csv"), "judges"),
    (("ultralytics",), ("curate", "{out}"), "judges"),
    (("datatrove", "ray"), ("build", "--preset", "smoke", "--out", "{out}", "--engine", "local"), "cluster"),
])
def test_a_missing_extra_is_one_line(tmp_path, missing, args, extra):
    out = tmp_path / "out"
    result = run_without(tmp_path, missing, *[a.format(out=out) for a in args])
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'dataigm[{extra}]'" in lines[0], lines
    assert "Traceback" not in result.stderr
