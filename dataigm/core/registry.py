"""Registries through which the core reaches category builders and detectors without importing
them: plug-in packages register their classes by name when they are imported.

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
import pkgutil
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Generic, TypeVar

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
        def add(obj: T) -> T:
            known = self._items.get(name)
            if known is not None and known is not obj and _qualname(known) != _qualname(obj):
                raise DataIGMError(f"two plug-ins register the {self.kind} {name!r}: "
                                   f"{_qualname(known)} and {_qualname(obj)}")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"


BUILDERS: Registry[type] = Registry("category builder")
DETECTORS: Registry[type] = Registry("detector")


def load_plugins() -> None:
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
