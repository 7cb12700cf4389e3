"""Registries through which the core reaches category builders, detectors and embedders without
importing them: plug-in packages register their classes by name when they are imported. Judge
specs ("nudenet", an artifact folder, a Hub id) are parsed here, once, into a detector and options.

Plug-ins are found in two places:
- packages named in the `dataigm.plugins` entry-point group (this project declares `builders` and
  `detectors`); every top-level module of such a package is imported;
- folders listed in the DATAIGM_PLUGINS environment variable (os.pathsep-separated): every
  `*.py` file in them is imported, and a `taxonomy.yaml` there adds categories to the taxonomy.
So adding a category is one builder module, one recipe file and taxonomy entries, with no edit
anywhere else.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import pkgutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

from dataigm.core import layout
from dataigm.core.errors import DataIGMError, UnknownNameError
from dataigm.core.plugins import plugin_dirs
from dataigm.core.taxonomy import Concept, load_taxonomy

ENTRY_POINT_GROUP = "dataigm.plugins"
T = TypeVar("T")


class Registry(Generic[T]):
    """name -> registered object (a class), filled by plug-in modules at import time."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator registering its class (or factory) as `name`; two different ones are an error."""

        def add(obj: T) -> T:
            known = self._items.get(name)
            if known is not None and known is not obj and _qualname(known) != _qualname(obj):
                raise DataIGMError(f"two plug-ins register the {self.kind} {name!r}: "
                                   f"{_qualname(known)} and {_qualname(obj)}")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The object registered under `name` (plug-ins loaded first); unknown names suggest a match."""
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        load_plugins()
        return sorted(self._items)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"


BUILDERS: Registry[type] = Registry("category builder")
# Detectors judge images: `judge(images) -> list[Verdict]`, with a name, version and threshold.
DETECTORS: Registry[type] = Registry("detector")
# Embedders turn images and texts into vectors (CLIP score, CMMD, zero-shot checks); they decide nothing.
EMBEDDERS: Registry[type] = Registry("embedder")


def load_plugins() -> None:
    """Import every plug-in (entry points and DATAIGM_PLUGINS folders), once per process."""
    _load(plugin_dirs())


@cache
def _load(dirs: tuple[Path, ...]) -> None:
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        package = importlib.import_module(ep.value)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.ispkg:
                importlib.import_module(f"{package.__name__}.{module.name}")
    for folder in dirs:
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
        for path in sorted(folder.glob("*.py")):
            name = f"dataigm_plugin_{tag}_{path.stem}"
            if name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise DataIGMError(f"{path}: cannot be imported as a plug-in")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except DataIGMError:
                raise
            except Exception as exc:  # a broken plug-in names itself in one line
                del sys.modules[name]
                raise DataIGMError(f"plug-in {path} failed to import: {type(exc).__name__}: {exc}") from None


def builder_for(concept: Concept):
    """The registered builder (an instance) of a concept's category ("imported" for prompt sets
    imported into a release folder)."""
    category = load_taxonomy().categories.get(concept.category)
    return BUILDERS.get(category.builder if category else concept.category)()


# -- judge specs -----------------------------------------------------------------------------------

NUDENET = "nudenet"
ARTIFACT_DETECTOR = "judge"  # loads any trained judge artifact by the kind its config names


@dataclass(frozen=True)
class JudgeSpec:
    """A judge to load: a registered detector and its constructor options (JSON-able), what the
    user wrote, and for a trained artifact the concept or category it was trained for."""

    detector: str
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    target: str | None = None

    def as_json(self) -> dict[str, Any]:
        """{"detector", "options"}: how plans and evaluation specs record a judge."""
        return {"detector": self.detector, "options": dict(self.options)}

    def load(self):
        """The detector instance."""
        return DETECTORS.get(self.detector)(**self.options)

    def check(self) -> None:
        """Before any work, loading nothing heavy: what the detector checks of its options (its
        optional `check_options(**options)`: that the models and weights files they name can be
        loaded here). A plug-in without one is checked when it loads."""
        check_options = getattr(DETECTORS.get(self.detector), "check_options", None)
        if check_options is not None:
            check_options(**self.options)


def resolve_judge(spec: str, *, flag: str = "--judge", nudenet_threshold: float | None = None,
                  nudenet_labels: Sequence[str] | None = None, dtype: str | None = None) -> JudgeSpec:
    """Parse a judge spec, the one way every command does: "nudenet" (options: threshold, labels),
    a judge artifact folder, or a Hub model repo ORG/NAME[@REVISION] holding one (downloaded to the
    Hugging Face cache; offline, the cached copy). `dtype` is passed to artifact judges (CLIP towers)."""
    if spec == NUDENET:
        options: dict[str, Any] = {}
        if nudenet_threshold is not None:
            options["threshold"] = nudenet_threshold
        if nudenet_labels:
            options["labels"] = tuple(nudenet_labels)
        return JudgeSpec(NUDENET, options, spec)
    folder = Path(spec)
    if not folder.is_dir():
        from dataigm.core.hub_access import parse_hub_id

        hub_id = parse_hub_id(spec) if not folder.exists() else None
        if hub_id is None:
            raise DataIGMError(f"{flag} {spec!r}: not {NUDENET!r}, not a judge artifact folder and not a Hub id "
                               "ORG/NAME[@REVISION]")
        folder = _download_judge(*hub_id, spec=spec, flag=flag)
    target = _artifact_target(folder, spec, flag)
    options = {"artifact": str(folder.resolve()), **({"dtype": dtype} if dtype is not None else {})}
    return JudgeSpec(ARTIFACT_DETECTOR, options, spec, target)


def _artifact_target(folder: Path, spec: str, flag: str) -> str:
    """The target a judge artifact was trained for, read from its config (no weights loaded)."""
    needs = f"needs {layout.JUDGE_CONFIG} and {layout.JUDGE_WEIGHTS}"
    if not (folder / layout.JUDGE_CONFIG).is_file() or not (folder / layout.JUDGE_WEIGHTS).is_file():
        raise DataIGMError(f"{flag} {spec}: not a judge artifact ({needs})")
    try:
        config = json.loads((folder / layout.JUDGE_CONFIG).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataIGMError(f"{flag} {spec}: corrupt judge config {layout.JUDGE_CONFIG} ({exc})") from None
    target = config.get("target") if isinstance(config, dict) else None
    if not isinstance(target, str) or not target:
        raise DataIGMError(f"{flag} {spec}: not a judge artifact (its {layout.JUDGE_CONFIG} names no target)")
    return target


def _download_judge(repo: str, revision: str | None, spec: str, flag: str) -> Path:
    """A judge artifact from a Hub model repo (only the artifact's files), or its cached copy."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from dataigm.core.hub_access import hub_unavailable

    why = hub_unavailable()
    try:
        return Path(snapshot_download(repo, revision=revision, allow_patterns=list(layout.JUDGE_FILES),
                                      local_files_only=why is not None))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        reason = f"{why} and it is not in the cache" if why else str(exc).splitlines()[0]
        raise DataIGMError(f"{flag} {spec}: no such judge folder, and as a Hub id it cannot be downloaded "
                           f"({reason})") from None
