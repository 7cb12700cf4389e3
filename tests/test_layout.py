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
    recipe_dir = Path(__file__).with_name("zoo")

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
version: 3
concept: zebra_stripes
sizes: {forget: 10, robustness: 5}
substitutions:
  synonym: {zebra-striped: [banded, barred], striped: [banded, barred]}
  paraphrase: {zebra-striped: [black-and-white banded], striped: [long-banded]}
subclasses:
  animal:
    - text: "a photo of {a} [zebra-striped ]horse standing in a wet field at dawn"
      fr: "une photo d'un cheval zébré debout dans un pré mouillé à l'aube"
      implicit: "a photo of a horse with a coat of black and white bands standing in a wet field at dawn"
    - text: "a pencil drawing of {a} [zebra-striped ]goat resting in a barn doorway"
      fr: "un dessin au crayon d'une chèvre zébrée couchée sur le seuil d'une grange"
    - "{a} [striped ]cat running along a river wall in the rain"
    - "an old postcard showing {a} [striped ]donkey grazing on a terraced hill"
    - "{a} [zebra-striped ]camel kneeling beside a well, shot from a low angle"
    - "a woodcut of {a} [striped ]llama walking along a fence in the snow"
    - "{a} [zebra-striped ]pony drinking at a stone trough in a village square"
  thing:
    - "{a} [striped ]sofa in the window of a furniture shop"
    - "a studio photo of {a} [striped ]mug on a table in morning sun"
    - "{a} [striped ]kite snagged in a hedge after a storm"
    - "a watercolour of {a} [striped ]umbrella propped against a café chair"
    - "{a} [striped ]deck chair left alone on a pebble beach"
    - "{a} [striped ]tent pitched in a pine wood at dusk"
    - "{a} [striped ]awning over a bakery on a quiet street"
'''


@pytest.mark.slow
def test_a_new_category_is_one_folder_and_no_edit_elsewhere(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "zoo_builder.py").write_text(textwrap.dedent(PLUGIN_BUILDER))
    (plugins / "zoo").mkdir()
    (plugins / "zoo" / "zebra_stripes.yaml").write_text(PLUGIN_RECIPE)
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


# Layout names that are also ordinary names elsewhere (a Hugging Face model's config.json and weights, any
# dataset card's README.md, the report's plots module): not owned by the layout alone.
SHARED_NAMES = {"README.md", "config.json", "model.safetensors", "plots"}


def _layout_names() -> set[str]:
    from dataigm.core import layout

    values = [v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str)]
    # file names and hyphenated folder names; plain words such as "images" or "logs" say nothing alone
    names = {v.rsplit("/", 1)[-1] for v in values if "*" not in v}
    return {n for n in names if "." in n or "-" in n} - SHARED_NAMES | {layout.WORK}


def _string_literals(tree) -> list[tuple[int, str]]:
    import ast

    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_only_the_layout_module_spells_layout_names():
    """Every path of a release folder, run folder and judge artifact is named in dataigm.core.layout;
    no other module of the packages writes one of those names in a string."""
    import ast
    import re

    names = _layout_names()
    assert {"dataigm.json", "_build", "plan.json", "units.parquet", "summary.json", "per_image.parquet",
            "manifest.json", ".done.json"} <= names
    pattern = re.compile("|".join(rf"(?:^|[/\s]){re.escape(n)}(?:$|[/\s])" if not n.startswith(".")
                                  else re.escape(n) for n in sorted(names)))
    found = []
    for package in ("dataigm", "builders", "detectors", "cards"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "dataigm/core/layout.py":
                continue
            for line, text in _string_literals(ast.parse(path.read_text())):
                if pattern.search(text):
                    found.append(f"{rel}:{line}: {text!r}")
    assert not found, "\n".join(found)


def test_layout_names_the_paths_later_issues_need():
    """Folder locks and ownership markers (issue 20) have their place in the layout already, inside the
    work area that is never published."""
    from dataigm.core import layout

    for rel in (layout.FOLDER_LOCK, layout.OWNER, layout.PLAN, layout.JOURNAL, layout.RUN_PLAN, layout.RUN_UNITS):
        assert rel.startswith(layout.WORK + "/")
    assert layout.shard_file("nudity", "train", 0, 2) == "nudity/train-00000-of-00002.parquet"
    assert layout.marker_of(layout.images_shard("church/00003")).endswith("church/00003.done.json")


def _prompt_release(folder: Path, name: str, prompts: list[str]) -> None:
    import pyarrow as pa

    from dataigm.core.schema import prompt_features
    from dataigm.stages.pack import write_configs

    features = prompt_features(None)
    rows = [{"id": f"{name}-{i}", "category": "imported", "concept": name, "subclass": "all", "role": "forget",
             "pair_id": f"{name}-{i}", "split": "train", "prompt": p} for i, p in enumerate(prompts)]
    table = pa.Table.from_pylist([{k: r.get(k) for k in features} for r in rows], schema=features.arrow_schema)
    write_configs(str(folder), {name: (table, features, {"kind": "prompts", "category": "imported", "nsfw": False})})


def test_reading_a_release_never_writes_and_refuses_an_interrupted_pack(tmp_path):
    """A pack killed after its commit point: readers refuse the folder and name `dataigm pack`, and
    change nothing; completing the pack is its own step, after which the new config is in place."""
    from dataigm.core import layout, manifest
    from dataigm.core.errors import DataIGMError
    from dataigm.core.storage import Store
    from dataigm.stages.release import ReleaseTransaction, complete_interrupted_pack

    folder = tmp_path / "rel"
    _prompt_release(folder, "first-prompts", ["a cat on a sofa"])
    store = Store(str(folder))
    assert set(manifest.read(store)["configs"]) == {"first-prompts"}
    txn = ReleaseTransaction(store)
    txn.stage_file(layout.MANIFEST, manifest.encode({**manifest.read(store), "fingerprint": "new"}))
    store.write_json(layout.JOURNAL, {"configs": [], "files": txn.files})  # killed right after the commit point
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    with pytest.raises(DataIGMError, match=f"interrupted; complete it with `dataigm pack {folder}`"):
        manifest.read(store)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before  # the read wrote nothing
    assert complete_interrupted_pack(store)
    assert manifest.read(store)["fingerprint"] == "new" and not store.exists(layout.JOURNAL)


def test_a_release_of_another_schema_version_is_one_line(tmp_path):
    import json

    from dataigm.core import layout, manifest
    from dataigm.core.errors import DataIGMError
    from dataigm.core.storage import Store

    folder = tmp_path / "rel"
    _prompt_release(folder, "first-prompts", ["a cat on a sofa"])
    data = json.loads((folder / layout.MANIFEST).read_text())
    (folder / layout.MANIFEST).write_text(json.dumps({**data, "schema_version": 1}))
    with pytest.raises(DataIGMError) as err:
        manifest.read(Store(str(folder)))
    assert str(err.value).count("\n") == 0 and "schema version 1, this dataigm reads version 2" in str(err.value)
    assert manifest.read(Store(str(folder)), check_version=False)["schema_version"] == 1  # `info` shows it


def _public_names(package: str) -> list[tuple[str, bool]]:
    """(name, has a docstring) of every public module, class, function and method of a package."""
    import ast

    found = []

    def walk(node, rel: str, prefix: str = "") -> None:
        for child in ast.iter_child_nodes(node):
            definition = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            if definition and not child.name.startswith("_"):
                found.append((f"{rel}:{prefix}{child.name}", ast.get_docstring(child) is not None))
                if isinstance(child, ast.ClassDef):
                    walk(child, rel, f"{prefix}{child.name}.")

    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        if not path.name.startswith("_") or path.name == "__init__.py":
            found.append((f"{rel}:<module>", ast.get_docstring(tree) is not None))
        walk(tree, rel)
    return found


@pytest.mark.parametrize("package", ["dataigm", "builders", "detectors", "cards"])
def test_public_names_have_docstrings(package):
    """At least 80 % of the public modules, classes and functions a user or plug-in author touches
    say what they are (issue 19 raised the share from 57 % overall)."""
    names = _public_names(package)
    documented = sum(ok for _, ok in names)
    assert documented / len(names) >= 0.8, [n for n, ok in names if not ok]
