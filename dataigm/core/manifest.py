"""The release manifest (`layout.MANIFEST`): the one place that reads, checks and encodes it.

Reading never writes. A local folder whose last pack was interrupted after its commit point (a
journal is present) is refused with the command that completes it: completing a pack is a step the
commands take explicitly (`stages.release.complete_interrupted_pack`), never a side effect of a read.
A manifest of another schema version is refused in one line, unless the caller only displays it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError
from dataigm.core.schema import SCHEMA_VERSION
from dataigm.core.storage import Store


def empty() -> dict[str, Any]:
    """The manifest of a folder nothing has been packed into yet."""
    return {"schema_version": SCHEMA_VERSION, "fingerprint": None, "build": None, "configs": {}}


def check_schema(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse a release written with another row schema than this dataigm's."""
    found = manifest.get("schema_version")
    if found != SCHEMA_VERSION:
        newer = isinstance(found, int) and found > SCHEMA_VERSION
        advice = ("upgrade dataigm" if newer else
                  "load it with the dataigm release that wrote it, or rebuild the data with this version")
        raise DataIGMError(f"{where} has schema version {found}, this dataigm reads version {SCHEMA_VERSION}: {advice}")
    return manifest


def parse(data: bytes, where: str, check_version: bool = True) -> dict[str, Any]:
    """A manifest from its bytes, checked: JSON object with a `configs` mapping (and the schema
    version, unless `check_version` is False)."""
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataIGMError(f"{where}: corrupt release manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("configs"), dict):
        raise DataIGMError(f"{where}: corrupt release manifest (no configs)")
    return check_schema(manifest, where) if check_version else manifest


def pending_pack(store: Store) -> bool:
    """Whether a pack was interrupted after its commit point (its journal is still there)."""
    return store.exists(layout.JOURNAL)


def read(store: Store, missing_ok: bool = False, check_version: bool = True) -> dict[str, Any]:
    """The manifest of a release folder; `empty()` when there is none and `missing_ok`."""
    if pending_pack(store):
        raise DataIGMError(f"{store.url}: its last pack was interrupted; complete it with `dataigm pack {store.url}`")
    if not store.exists(layout.MANIFEST):
        if missing_ok:
            return empty()
        raise DataIGMError(f"{store.url} is not a packed release (no {layout.MANIFEST}); run dataigm build or pack")
    return parse(store.read_bytes(layout.MANIFEST), store.path(layout.MANIFEST), check_version)


def read_source(source: str, revision: str | None = None, check_version: bool = True) -> dict[str, Any] | None:
    """The manifest of a release folder or Hub dataset repo at `revision` (None: not a dataigm
    release, i.e. no manifest)."""
    folder = Path(source)
    if folder.is_dir():
        store = Store(str(folder))
        if not store.exists(layout.MANIFEST) and not pending_pack(store):
            return None
        return read(store, check_version=check_version)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    where = f"{source}@{revision or 'main'}"
    try:
        path = hf_hub_download(source, layout.MANIFEST, repo_type="dataset", revision=revision)
    except EntryNotFoundError:
        return None
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise DataIGMError(f"cannot read {where}: {str(exc).splitlines()[0]}") from None
    return parse(Path(path).read_bytes(), where, check_version)


def encode(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes as written (sorted keys: the same manifest gives the same bytes)."""
    return json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
