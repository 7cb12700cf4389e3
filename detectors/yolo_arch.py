"""ultralytics network architectures built only from the yaml files ultralytics ships.

ultralytics' model parser calls `eval` on a yaml's `activation` field, so a yaml that travels with
an artifact could run code. dataigm therefore never hands a stored or user-given yaml to it: an
architecture is named (e.g. "yolov8n-cls.yaml"), resolved among the files inside the installed
ultralytics package, and a stored copy that differs from that file is refused.
"""

from __future__ import annotations

from typing import Any

from dataigm.core.errors import DataIGMError

# Keys ultralytics adds to the parsed dict that do not describe the architecture.
_VOLATILE = ("yaml_file", "ch", "nc", "channels")


def shipped_architecture(name: str) -> dict[str, Any]:
    """The parsed yaml of an architecture shipped with ultralytics (by file name, scale included)."""
    from pathlib import Path

    import ultralytics
    from ultralytics.nn.tasks import yaml_model_load

    if Path(name).name != name or not name.endswith(".yaml"):
        raise DataIGMError(f"architecture {name!r}: give the name of a yaml shipped with ultralytics "
                           "(e.g. yolov8n-cls.yaml), not a path: model yaml files can run code")
    cfg_dir = Path(ultralytics.__file__).parent / "cfg" / "models"
    stem = name.removesuffix(".yaml")
    candidates = {p.name for p in cfg_dir.rglob("*.yaml")}
    unscaled = {f"{stem[:i]}{stem[i + 1:]}.yaml" for i in range(len(stem)) if stem[i] in "nsmlx"}
    if name not in candidates and not candidates & unscaled:
        raise DataIGMError(f"architecture {name!r} is not shipped with ultralytics {ultralytics.__version__}")
    return yaml_model_load(name)


def same_architecture(stored: dict[str, Any], name: str) -> dict[str, Any]:
    """The shipped architecture `name`, after checking that `stored` describes exactly it."""
    shipped = shipped_architecture(name)

    def core(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in _VOLATILE}

    if core(stored) != core(shipped):
        extra = sorted(set(core(stored)) ^ set(core(shipped))) or sorted(
            k for k in core(shipped) if core(stored).get(k) != core(shipped)[k])
        raise DataIGMError(f"the stored architecture differs from ultralytics' {name} (keys {extra}); refusing to "
                           "build it (a model yaml can run code)")
    return shipped
