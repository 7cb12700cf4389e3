"""`dataigm.load`: a thin, typed wrapper over `datasets.load_dataset` for release folders and
Hub repos, which checks the release's schema version against this library's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dataigm.core import layout
from dataigm.core.errors import DataIGMError


def _local_cache_dir(folder: Path) -> str:
    """A cache dir keyed by the folder's path and its shards' sizes and mtimes: `datasets` keys a
    local folder's cache by the folder's name only, so a rebuilt folder would load stale rows."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for p in sorted(folder.glob(layout.ALL_SHARDS)):
        st = p.stat()
        h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}".encode())
    root = Path(os.environ.get("DATAIGM_CACHE", Path.home() / ".cache" / "dataigm")) / "datasets"
    return str(root / h.hexdigest()[:16])


def release_manifest(source: str, revision: str | None = None) -> dict | None:
    """A release's manifest, its schema version checked (None: not a dataigm release)."""
    from dataigm.core import manifest

    return manifest.read_source(source, revision)


def split_source(source: str) -> tuple[str, str | None]:
    """'org/name@v1.0.0' -> ('org/name', 'v1.0.0'); local paths keep any '@'. A source that is
    neither an existing folder nor a well-formed Hub id is refused here, in one line."""
    from dataigm.core.hub_access import parse_hub_id

    if Path(source).exists():
        return source, None
    parsed = parse_hub_id(source)
    if parsed is None:
        raise DataIGMError(f"{source!r}: neither a release folder nor a Hub id ORG/NAME[@REVISION]")
    return parsed


def load(concept: str, source: str, revision: str | None = None, split: str | None = None):
    """Load config `concept` of a release folder or Hub dataset repo at `revision`."""
    from datasets import load_dataset

    source, at = split_source(source)
    revision = revision or at
    release_manifest(source, revision)  # refuses another schema version (a plain parquet dataset passes)
    folder = Path(source)
    try:
        if folder.is_dir():
            return load_dataset(str(folder), concept, split=split, cache_dir=_local_cache_dir(folder))
        return load_dataset(source, concept, revision=revision, split=split)
    except ValueError as exc:  # unknown config or split: datasets names the ones that exist
        raise DataIGMError(f"{source}: {str(exc).splitlines()[0]}") from None
    except (FileNotFoundError, ConnectionError, OSError) as exc:
        raise DataIGMError(f"cannot load {concept!r} from {source}: {str(exc).splitlines()[0]}") from None


def config_files(config: str, source: str, revision: str | None = None, split: str | None = None) -> list[str]:
    """Local paths of a config's parquet shards (downloaded from the Hub at `revision` if needed)."""
    source, at = split_source(source)
    revision = revision or at
    pattern = layout.config_shards(config, split)
    folder = Path(source)
    if folder.is_dir():
        files = sorted(str(p) for p in folder.glob(pattern))
    else:
        import fnmatch

        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        try:
            names = [f for f in HfApi().list_repo_files(source, repo_type="dataset", revision=revision)
                     if fnmatch.fnmatch(f, pattern)]
            files = [hf_hub_download(source, f, repo_type="dataset", revision=revision) for f in sorted(names)]
        except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
            raise DataIGMError(f"cannot read {source}@{revision or 'main'}: {str(exc).splitlines()[0]}") from None
    if not files:
        raise DataIGMError(f"{source}: no shards for config {config!r}{f' split {split!r}' if split else ''}")
    return files


def local_copy(source: str) -> Path:
    """A release folder, or a Hub id[@revision] downloaded (its published files) to the cache."""
    name, revision = split_source(source)
    folder = Path(name)
    if folder.is_dir():
        return folder
    if "/" not in name:
        raise DataIGMError(f"{source!r}: neither a release folder nor a Hub id ORG/NAME[@REVISION]")
    from huggingface_hub import snapshot_download

    from dataigm.hub.calls import hub_call

    return Path(hub_call(snapshot_download, name, repo_type="dataset", revision=revision,
                         what=f"downloading {source}"))
