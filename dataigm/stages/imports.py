"""Imported prompt sets inside a release folder: their rows are kept in its work area, published
as a `<name>-prompts` config and, when built, turned into an image config `<name>` that honours
each row's seed, guidance and size."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dataigm.core import layout
from dataigm.core.errors import DataIGMError, check_name
from dataigm.core.storage import Store
from dataigm.core.taxonomy import Concept, imported_set, load_taxonomy

SUBCLASS_ORDER = "subclass_order"  # import record and manifest key: the source's own subclass order


def save_import(store: Store, name: str, rows: list[dict[str, Any]], source: str, nsfw: bool,
                attacks: str | None = None, subclass_order: dict[str, Any] | None = None) -> None:
    """Keep an imported set's rows in the folder's work area (published by `prompts import`), and
    the source's subclass order where it has one (published beside the set: evaluation needs it)."""
    check_name(name, "--name")
    taxonomy = load_taxonomy()
    if name in taxonomy.concepts or name in taxonomy.categories:
        raise DataIGMError(f"--name {name!r} is a concept or category of the taxonomy; choose another")
    if attacks is not None:
        taxonomy.concept(attacks)
    from dataigm.core.schema import prompt_features

    store.write_table(layout.import_rows(name), pa.Table.from_pylist(
        [{k: r.get(k) for k in prompt_features(None)} for r in rows], schema=prompt_features(None).arrow_schema))
    store.write_json(layout.import_record(name), {"config": f"{name}-prompts", "name": name, "source": source,
                                        "nsfw": nsfw, "rows": len(rows), "attacks": attacks,
                                        **({SUBCLASS_ORDER: subclass_order} if subclass_order else {})})


def import_info(store: Store, name: str) -> dict[str, Any] | None:
    """The import record of a prompt set in this folder (None: no such set)."""
    if not store.exists(layout.import_record(name)):
        return None
    return store.read_json(layout.import_record(name), what="import record")


def imported_concept(store: Store, name: str) -> Concept | None:
    """An imported prompt set of this folder as a concept (None: no such set)."""
    info = import_info(store, name)
    return None if info is None else imported_set(name, bool(info["nsfw"]), info.get("attacks"))


def resolve_concept(store: Store, name: str) -> Concept:
    """A taxonomy concept, or an imported prompt set of this release folder."""
    found = imported_concept(store, name)
    return found if found is not None else load_taxonomy().concept(name)


def imported_rows(store: Store, name: str) -> list[dict[str, Any]]:
    """The rows of an imported prompt set, sorted by id."""
    return sorted(store.read_table(layout.import_rows(name)).to_pylist(), key=lambda r: r["id"])
