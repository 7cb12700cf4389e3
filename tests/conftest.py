from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# datasets caches a local folder by its name, not its content (and checks split sizes against
# the cached ones): a fresh cache per session, and one per load_release() call.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="dataigm-test-datasets-")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if not FIXTURES.exists():  # a checkout elsewhere: shared/ beside the repository root
    FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


SLOW_FIXTURES = {"smoke_release"}  # a build of every concept: its users join the slow set


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fixtures() -> Path:
    if not FIXTURES.exists():
        pytest.skip("../shared/fixtures is not available")
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """The tiny random-weight SD pipeline, saved once per session."""
    from dataigm.stages.tiny_models import build_tiny_pipeline

    return str(build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd"))


@pytest.fixture(scope="session")
def smoke_release(tmp_path_factory) -> Path:
    """A complete smoke build of every concept (the README's first command, in-process)."""
    from dataigm.build import build
    from dataigm.core.plan import preset_config

    out = tmp_path_factory.mktemp("release") / "smoke"
    build(preset_config("smoke", str(out)), progress=False)
    return out


def smoke_build(out: Path, concepts: list[str], **settings) -> dict:
    from dataigm.build import build
    from dataigm.core.curation import CurationOptions
    from dataigm.core.plan import preset_config

    overrides = {k: settings.pop(k) for k in list(settings)
                 if k in ("image_limit", "shard_size", "images_per_prompt", "prompt_count")}
    curation = {k: settings.pop(k) for k in list(settings) if k in ("person_check", "judges", "clip")}
    return build(preset_config("smoke", str(out), concepts=concepts, settings=settings,
                               curation=CurationOptions(**curation), **overrides), progress=False)


def load_release(folder: Path | str, config: str, **kwargs):
    """load_dataset on a local release folder, never from a stale cache."""
    from datasets import load_dataset

    return load_dataset(str(folder), config, cache_dir=tempfile.mkdtemp(prefix="dataigm-load-"), **kwargs)
