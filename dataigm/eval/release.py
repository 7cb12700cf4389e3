"""The release an evaluation reads: every row of one config (an image config, or for an IGMU tree
also a prompt config), and the original model's images of an image config, read on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataigm.core.errors import DataIGMError

ROW_COLUMNS = ("id", "category", "concept", "subclass", "role", "kind", "pair_id", "split", "prompt",
               "negative_prompt", "seed", "seeds", "image_index", "guidance_scale", "height", "width",
               "num_inference_steps", "scheduler", "scheduler_config", "dtype", "batch_size", "model_id",
               "model_revision", "status", "pair_status", "source", "source_id", "sha256", "attack")


@dataclass
class ReleaseConfig:
    """Every row of one config of a release (no image bytes: `images` reads them on demand)."""

    source: str
    revision: str | None
    config: str
    files: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    has_images: bool = True
    _where: dict[str, tuple[str, int]] | None = field(default=None, init=False, repr=False)  # id -> (file, group)
    _last: tuple[tuple[str, int] | None, dict[str, bytes]] = field(default=(None, {}), init=False, repr=False)

    def images(self, ids: set[str]) -> dict[str, bytes]:
        """Image bytes of the given row ids: only the row groups holding them are read (found from
        the id column once), and the last group read is kept for the next batch."""
        import pyarrow.parquet as pq

        from dataigm.core.storage import images_by_id, row_groups

        if not self.has_images:
            return {}
        if self._where is None:
            self._where = {row_id: (path, group) for path in self.files
                           for group, table in enumerate(row_groups(path, ["id"]))
                           for row_id in table.column("id").to_pylist()}
        out: dict[str, bytes] = {}
        for where in sorted({self._where[i] for i in ids if i in self._where}):
            if self._last[0] != where:
                table = pq.ParquetFile(where[0]).read_row_group(where[1], columns=["id", "image"])
                self._last = (where, images_by_id([table], set(table.column("id").to_pylist())))
            out.update({i: data for i, data in self._last[1].items() if i in ids})
        return out


def read_release(source: str, config: str, prompts_ok: bool = False) -> ReleaseConfig:
    """Every row of `config` of the release `source` (a folder or ORG/NAME[@REVISION]; all statuses:
    which rows are scored is decided later), sorted by id. A prompt config is accepted only where
    the images come from elsewhere (`prompts_ok`)."""
    import pyarrow.parquet as pq

    from dataigm.hub.loading import config_files, release_manifest, split_source

    source, revision = split_source(source)
    files = config_files(config, source, revision)
    rows: list[dict[str, Any]] = []
    has_images = True
    for path in files:
        schema = pq.read_schema(path)
        if "image" not in schema.names:
            if not prompts_ok:
                raise DataIGMError(f"{config} is a prompt config: give the method's images in IGMU's layout "
                                   "(--layout igmu, with its ORG folders), or evaluate an image config")
            has_images = False
        columns = [c for c in ROW_COLUMNS if c in schema.names]
        rows.extend(pq.read_table(path, columns=columns).to_pylist())
    if not rows:
        raise DataIGMError(f"{source} config {config}: no rows")
    rows.sort(key=lambda r: r["id"])
    return ReleaseConfig(source, revision, config, files, rows, release_manifest(source, revision), has_images)


def recorded_subclass_order(manifest: dict[str, Any] | None, config: str) -> dict[str, Any] | None:
    """The IGMU pair's subclass order the import recorded for `config` (an imported set's image or
    prompt config), or None where the release has none (imported before dataigm recorded it)."""
    from dataigm.stages.imports import SUBCLASS_ORDER

    configs = (manifest or {}).get("configs") or {}
    for name in (f"{config.removesuffix('-prompts')}-prompts", config):
        found = (configs.get(name) or {}).get(SUBCLASS_ORDER)
        if isinstance(found, dict):
            return found
    return None


def imported_igmu_configs(manifest: dict[str, Any] | None) -> list[str]:
    """Configs of a release that hold an imported IGMU prompt pair: the image config where one was
    built, else the prompt config."""
    configs = (manifest or {}).get("configs") or {}
    prompt_configs = [name for name, c in configs.items()
                      if c.get("kind") == "prompts" and str(c.get("source") or "").startswith("igmu:")]
    return [name.removesuffix("-prompts") if name.removesuffix("-prompts") in configs else name
            for name in sorted(prompt_configs)]
