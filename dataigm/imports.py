"""Imported prompt sets inside a release folder: written as `<name>-prompts` configs and, when
built, turned into an image config `<name>` that honours each row's seed, guidance and size."""

from __future__ import annotations

from typing import Any

from dataigm.errors import DataIGMError
from dataigm.storage import Store
from dataigm.taxonomy import Concept, load_taxonomy

IMPORT_LABELS = ("absent", "present")


def _info_path(name: str) -> str:
    return f"_build/imports/{name}.json"


def write_import(store: Store, name: str, rows: list[dict[str, Any]], source: str, nsfw: bool) -> dict[str, int]:
    from dataigm.stages import write_prompt_config

    if name in load_taxonomy().concepts or name.endswith("-prompts") or name == "data":
        raise DataIGMError(f"--name {name!r} clashes with a concept or reserved name; choose another")
    counts = write_prompt_config(store, f"{name}-prompts", rows, None)
    store.write_json(_info_path(name), {"config": f"{name}-prompts", "name": name, "source": source,
                                        "nsfw": nsfw, "rows": len(rows)})
    return counts


def imported_concept(store: Store, name: str) -> Concept | None:
    if not store.exists(_info_path(name)):
        return None
    info = store.read_json(_info_path(name))
    return Concept(name=name, category="imported", shape="attribute", trigger_words=(),
                   subclasses=(), label_names=IMPORT_LABELS, images_per_prompt=1,
                   nsfw=bool(info["nsfw"]), display_name=name)


def resolve_concept(store: Store, name: str) -> Concept:
    """A taxonomy concept, or an imported prompt set of this release folder."""
    found = imported_concept(store, name)
    return found if found is not None else load_taxonomy().concept(name)


def imported_rows(store: Store, name: str) -> list[dict[str, Any]]:
    rows = []
    for rel in store.glob(f"{name}-prompts/*.parquet"):
        rows.extend(store.read_table(rel).to_pylist())
    return sorted(rows, key=lambda r: r["id"])
