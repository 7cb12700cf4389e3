"""`dataigm.load`: a thin, typed wrapper over `datasets.load_dataset` for release folders and
Hub repos, which checks the release's schema version against this library's."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from dataigm.errors import DataIGMError
from dataigm.schema import SCHEMA_VERSION


def _local_cache_dir(folder: Path) -> str:
    """A cache dir keyed by the folder's path and its shards' sizes and mtimes: `datasets` keys a
    local folder's cache by the folder's name only, so a rebuilt folder would load stale rows."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for p in sorted(folder.glob("*/*.parquet")):
        st = p.stat()
        h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}".encode())
    root = Path(os.environ.get("DATAIGM_CACHE", Path.home() / ".cache" / "dataigm")) / "datasets"
    return str(root / h.hexdigest()[:16])


def release_schema_version(source: str, revision: str | None = None) -> int | None:
    """The schema version a release declares in its dataigm.json (None: not a dataigm release)."""
    folder = Path(source)
    if folder.is_dir():
        manifest = folder / "dataigm.json"
        return json.loads(manifest.read_text()).get("schema_version") if manifest.exists() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = hf_hub_download(source, "dataigm.json", repo_type="dataset", revision=revision)
    except EntryNotFoundError:
        return None
    return json.loads(Path(path).read_text()).get("schema_version")


def split_source(source: str) -> tuple[str, str | None]:
    """'org/name@v1.0.0' -> ('org/name', 'v1.0.0'); local paths keep any '@'."""
    if "@" in source and not Path(source).exists():
        repo, revision = source.rsplit("@", 1)
        return repo, revision
    return source, None


def load(concept: str, source: str, revision: str | None = None, split: str | None = None):
    """Load config `concept` of a release folder or Hub dataset repo at `revision`."""
    from datasets import load_dataset

    source, at = split_source(source)
    revision = revision or at
    found = release_schema_version(source, revision)
    if found is not None and found != SCHEMA_VERSION:
        advice = ("upgrade dataigm" if found > SCHEMA_VERSION else
                  "load an older dataigm release, or rebuild the data with this version")
        raise DataIGMError(f"{source}{'@' + revision if revision else ''} has schema version {found}, "
                           f"this dataigm reads version {SCHEMA_VERSION}: {advice}")
    folder = Path(source)
    if folder.is_dir():
        return load_dataset(str(folder), concept, split=split, cache_dir=_local_cache_dir(folder))
    return load_dataset(source, concept, revision=revision, split=split)
