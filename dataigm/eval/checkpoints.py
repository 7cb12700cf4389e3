"""The checkpoint formats published unlearning methods ship, loaded on top of a base pipeline.

pipeline      a whole diffusers pipeline folder or Hub id (MACE)
unet          a full UNet state dict in diffusers keys (ESD, UCE, FMN, SPM, RECE, SalUn); a file or a
              diffusers UNet folder
unet-partial  some UNet weights in diffusers keys (DoCo, newer ESD/UCE): loaded non-strictly, refused
              when no key matches
ldm           CompVis/LDM keys (`model.diffusion_model.*`), converted with diffusers' single-file code
text-encoder  a CLIP text encoder state dict (AdvUnlearn), or a transformers folder
lora          a LoRA (Kohya/peft) through diffusers' `load_lora_weights` (peft)

auto          (the default) the format told from the files and keys (`detect_model_type`)

State dicts are read with safetensors, or `torch.load(weights_only=True)` for .pt/.bin/.ckpt: never
a bare unpickle. A checkpoint that does not fit the base model is refused with one line, and so
is a git-lfs pointer file saved under a weights name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError

MODEL_TYPES = ("pipeline", "unet", "unet-partial", "ldm", "text-encoder", "lora")
LDM_PREFIX = "model.diffusion_model."
STATE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
LFS_POINTER = b"version https://git-lfs"
UNET_PREFIXES = ("conv_in.", "time_embedding.", "down_blocks.", "mid_block.", "up_blocks.", "conv_norm_out.",
                 "conv_out.", "add_embedding.", "class_embedding.", "encoder_hid_proj.")
FULL_UNET = ("conv_in.", "time_embedding.", "down_blocks.", "mid_block.", "up_blocks.", "conv_out.")
TEXT_PREFIXES = ("text_model.", "embeddings.", "encoder.layers.", "final_layer_norm.")
LORA_MARKS = ("lora_", ".lora.", "lora_unet_", "lora_te_", ".alpha")


def load_state_dict(path: Path) -> dict[str, Any]:
    """Tensors of a checkpoint file; a {"state_dict": ...} wrapper (LDM, Lightning) is unwrapped."""
    import torch

    if not path.is_file():
        raise DataIGMError(f"{path}: no such checkpoint file")
    _refuse_pointer(path)
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


def _refuse_pointer(path: Path) -> None:
    """A git-lfs pointer (a small text file) where the weights should be: one line that says so."""
    with open(path, "rb") as f:
        head = f.read(len(LFS_POINTER))
    if head == LFS_POINTER:
        raise DataIGMError(f"{path}: a git-lfs pointer file, not the weights; fetch them (git lfs pull) first")


def _keys(path: Path) -> list[str]:
    """Parameter names of a checkpoint file (a safetensors header is read without the tensors)."""
    _refuse_pointer(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return list(f.keys())
        except (SafetensorError, OSError) as exc:
            raise DataIGMError(f"{path}: unreadable safetensors file ({exc})") from None
    return list(load_state_dict(path))


def _family(key: str) -> str | None:
    lowered = key.lower()
    if any(mark in lowered for mark in LORA_MARKS):
        return "lora"
    if key.startswith(LDM_PREFIX):
        return "ldm"
    if key.startswith(UNET_PREFIXES):
        return "unet"
    if key.startswith(TEXT_PREFIXES):
        return "text-encoder"
    return None


def detect_model_type(spec: str) -> tuple[str, str]:
    """(model type, why) of a checkpoint, from its files and parameter names: a folder with
    model_index.json is a pipeline, with a LoRA weights file a LoRA, with a diffusers UNet or CLIP
    text weights file that model; a file by its keys (`model.diffusion_model.*`: LDM; `lora_*`:
    LoRA; `text_model.*`: text encoder; diffusers UNet keys: full when every part of the UNet is
    there, else partial). A checkpoint that fits none is one line naming the closest format."""
    path = Path(spec)
    if not path.exists():
        return "pipeline", "not a local path: a Hub id of a pipeline"
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if "model_index.json" in names:
            return "pipeline", "a diffusers pipeline folder (model_index.json)"
        if names & {"pytorch_lora_weights.safetensors", "pytorch_lora_weights.bin"}:
            return "lora", "a LoRA folder (pytorch_lora_weights.*)"
        if names & {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"}:
            return "unet", "a diffusers UNet folder"
        if names & {"model.safetensors", "pytorch_model.bin"}:
            return "text-encoder", "a transformers model folder (the text encoder)"
        raise DataIGMError(f"--model {spec}: a folder with none of model_index.json, pytorch_lora_weights.*, "
                           "diffusion_pytorch_model.*, model.safetensors; closest format: pipeline (a diffusers "
                           "pipeline folder)")
    if path.suffix not in STATE_SUFFIXES:
        raise DataIGMError(f"--model {spec}: unknown checkpoint format; use {', '.join(STATE_SUFFIXES)} or a folder")
    keys = _keys(path)
    families: dict[str | None, int] = {}
    for key in keys:
        families[_family(key)] = families.get(_family(key), 0) + 1
    if families.get("lora"):
        return "lora", f"{families['lora']} LoRA keys (lora_*)"
    if families.get("ldm"):
        return "ldm", f"CompVis/LDM keys ({LDM_PREFIX}*)"
    known = {k: v for k, v in families.items() if k is not None}
    if len(known) == 1 and None not in families:
        family = next(iter(known))
        if family == "text-encoder":
            return "text-encoder", "a CLIP text encoder state dict (text_model.*)"
        if all(any(k.startswith(p) for k in keys) for p in FULL_UNET):
            return "unet", "a full UNet state dict in diffusers keys"
        return "unet-partial", f"{len(keys)} UNet weights in diffusers keys (not every part of the UNet)"
    closest = max(known, key=known.get) if known else None
    example = next(k for k in keys if _family(k) is None) if families.get(None) else keys[0] if keys else "none"
    hint = (f"closest format: {'unet-partial' if closest == 'unet' else closest} ({known[closest]} of {len(keys)} "
            "keys look like it)" if closest else "no key looks like a UNet, text encoder, LDM or LoRA")
    raise DataIGMError(f"--model {spec}: fits no checkpoint format (e.g. key {example!r}); {hint}; custom modules "
                       "(Receler, ConceptPrune) need a plug-in")


def check_checkpoint(spec: str) -> None:
    """Before any work: a local checkpoint file is readable weights (not a git-lfs pointer)."""
    path = Path(spec)
    if path.is_file():
        _keys(path)


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
