"""The checkpoint formats published unlearning methods ship, loaded on top of a base pipeline.

pipeline      a whole diffusers pipeline folder or Hub id (MACE)
unet          a full UNet state dict in diffusers keys (ESD, UCE, FMN, SPM, RECE, SalUn); a file or a
              diffusers UNet folder
unet-partial  some UNet weights in diffusers keys (DoCo, newer ESD/UCE): loaded non-strictly, refused
              when no key matches
ldm           CompVis/LDM keys (`model.diffusion_model.*`), converted with diffusers' single-file code
text-encoder  a CLIP text encoder state dict (AdvUnlearn), or a transformers folder
lora          a LoRA (Kohya/peft) through diffusers' `load_lora_weights` (peft)

State dicts are read with safetensors, or `torch.load(weights_only=True)` for .pt/.bin/.ckpt: never
a bare unpickle. A checkpoint that does not fit the base model is refused with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError

MODEL_TYPES = ("pipeline", "unet", "unet-partial", "ldm", "text-encoder", "lora")
LDM_PREFIX = "model.diffusion_model."
STATE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def load_state_dict(path: Path) -> dict[str, Any]:
    """Tensors of a checkpoint file; a {"state_dict": ...} wrapper (LDM, Lightning) is unwrapped."""
    import torch

    if not path.is_file():
        raise DataIGMError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(path)
        except (SafetensorError, OSError) as exc:
            raise DataIGMError(f"{path}: unreadable safetensors file ({exc})") from None
    elif path.suffix in STATE_SUFFIXES:
        import pickle

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
            raise DataIGMError(f"{path}: not a plain tensor checkpoint; it holds objects that only a full "
                               f"unpickle could build, which dataigm never does ({str(exc).splitlines()[0]})") from None
    else:
        raise DataIGMError(f"{path}: unknown checkpoint format; use {', '.join(STATE_SUFFIXES)}")
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict) and len(state) <= 4:
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataIGMError(f"{path}: expected a mapping of parameter names to tensors")
    return state


def _weights_file(spec: str, names: tuple[str, ...]) -> Path:
    """A checkpoint file, or the weights file inside a diffusers/transformers model folder."""
    path = Path(spec)
    if path.is_dir():
        for name in names:
            if (path / name).exists():
                return path / name
        raise DataIGMError(f"{path}: no {' or '.join(names)} inside")
    return path


def _load_into(module: Any, state: dict[str, Any], what: str, strict: bool, spec: str) -> dict[str, int]:
    """Load `state` into `module`; one line when it does not fit. Returns key counts."""
    own = module.state_dict()
    unknown = [k for k in state if k not in own]
    mismatched = [k for k in state if k in own and own[k].shape != state[k].shape]
    matched = len(state) - len(unknown) - len(mismatched)
    if mismatched:
        k = mismatched[0]
        raise DataIGMError(f"{spec} does not fit the base model's {what}: {len(mismatched)} weight(s) have other "
                           f"shapes (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})")
    if strict and (unknown or len(state) != len(own)):
        missing = len(own) - matched
        raise DataIGMError(f"{spec} does not fit the base model's {what}: {len(unknown)} unknown key(s)"
                           f"{f' (e.g. {unknown[0]})' if unknown else ''}, {missing} missing; use --model-type "
                           "unet-partial for a partial UNet")
    if not matched:
        raise DataIGMError(f"{spec}: no key matches the base model's {what} (e.g. {next(iter(state))})")
    if unknown:
        raise DataIGMError(f"{spec}: {len(unknown)} key(s) are not in the base model's {what} (e.g. {unknown[0]})")
    module.load_state_dict(state, strict=False)
    return {"replaced": matched, "total": len(own)}


def apply_checkpoint(pipe: Any, spec: str, model_type: str) -> dict[str, Any]:
    """Modify a loaded base pipeline in place with an unlearned checkpoint; returns what changed."""
    if model_type == "unet":
        file = _weights_file(spec, ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"))
        return _load_into(pipe.unet, load_state_dict(file), "UNet", strict=True, spec=spec)
    if model_type == "unet-partial":
        return _load_into(pipe.unet, load_state_dict(Path(spec)), "UNet", strict=False, spec=spec)
    if model_type == "ldm":
        from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

        state = load_state_dict(Path(spec))
        if not any(k.startswith(LDM_PREFIX) for k in state):
            raise DataIGMError(f"{spec}: no '{LDM_PREFIX}*' keys; not a CompVis/LDM checkpoint")
        try:
            converted = convert_ldm_unet_checkpoint(state, dict(pipe.unet.config))
        except (KeyError, IndexError, ValueError, RuntimeError) as exc:
            raise DataIGMError(f"{spec}: its LDM keys do not convert to the base UNet ({exc})") from None
        return _load_into(pipe.unet, converted, "UNet", strict=True, spec=spec)
    if model_type == "text-encoder":
        file = _weights_file(spec, ("model.safetensors", "pytorch_model.bin"))
        state = load_state_dict(file)
        own = pipe.text_encoder.state_dict()
        if not any(k in own for k in state) and all(f"text_model.{k}" in own for k in state):
            state = {f"text_model.{k}": v for k, v in state.items()}  # a bare CLIPTextTransformer dict
        own_keys = set(own)
        state = {k: v for k, v in state.items() if k in own_keys or not k.endswith("position_ids")}
        return _load_into(pipe.text_encoder, state, "text encoder", strict=True, spec=spec)
    if model_type == "lora":
        try:
            pipe.load_lora_weights(spec)
        except (OSError, ValueError, KeyError) as exc:
            raise DataIGMError(f"{spec}: not a LoRA for the base pipeline ({str(exc).splitlines()[0]})") from None
        return {"adapters": list(pipe.get_active_adapters())}
    raise DataIGMError(f"--model-type {model_type!r}: use one of {', '.join(MODEL_TYPES)}")


def checkpoint_digest(spec: str) -> str:
    """Content digest of a local checkpoint file or folder; Hub ids are named as given."""
    from dataigm.core.fingerprint import content_digest

    return f"local:{content_digest(Path(spec))}" if Path(spec).exists() else spec
