"""The tiny pipeline's weights saved in the formats unlearning methods ship (for the eval tests):
full and partial UNet state dicts, CompVis/LDM keys, a text encoder, a peft LoRA."""

from __future__ import annotations

from pathlib import Path

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"), ("conv2", "out_layers.3"),
           ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))


def _resnet(rest: str) -> str:
    for new, old in _RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new):]
    return rest


def to_ldm_keys(state: dict, config: dict) -> dict:
    """Diffusers UNet keys -> CompVis `model.diffusion_model.*` keys (the inverse of diffusers'
    convert_ldm_unet_checkpoint, for the block layout of `config`)."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    fixed = DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"]
    per = config["layers_per_block"] + 1
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if key in fixed:
            ldm = fixed[key]
        elif parts[0] == "down_blocks":
            b, kind, idx, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
            if kind == "resnets":
                ldm = f"input_blocks.{1 + b * per + idx}.0.{_resnet(rest)}"
            elif kind == "attentions":
                ldm = f"input_blocks.{1 + b * per + idx}.1.{rest}"
            else:  # downsamplers.0.conv.*
                ldm = f"input_blocks.{1 + b * per + per - 1}.0.op.{'.'.join(parts[5:])}"
        elif parts[0] == "mid_block":
            kind, idx, rest = parts[1], int(parts[2]), ".".join(parts[3:])
            ldm = (f"middle_block.{2 * idx}.{_resnet(rest)}" if kind == "resnets" else f"middle_block.1.{rest}")
        elif parts[0] == "up_blocks":
            b, kind, idx, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
            up_per = per
            if kind == "resnets":
                ldm = f"output_blocks.{b * up_per + idx}.0.{_resnet(rest)}"
            elif kind == "attentions":
                ldm = f"output_blocks.{b * up_per + idx}.1.{rest}"
            else:  # upsamplers.0.conv.*: after the attention when the block has one
                has_attention = any(k.startswith(f"up_blocks.{b}.attentions.") for k in state)
                ldm = f"output_blocks.{b * up_per + up_per - 1}.{2 if has_attention else 1}.conv.{'.'.join(parts[5:])}"
        else:
            raise KeyError(key)
        out[f"model.diffusion_model.{ldm}"] = value
    return out


def save_formats(model: Path, out: Path) -> dict[str, Path]:
    """The tiny pipeline at `model` saved as each --model-type's checkpoint, same weights."""
    import torch
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    pipe = StableDiffusionPipeline.from_pretrained(model)
    out.mkdir(parents=True, exist_ok=True)
    unet = {k: v.contiguous() for k, v in pipe.unet.state_dict().items()}
    save_file(unet, out / "unet.safetensors")
    torch.save(unet, out / "unet.pt")
    partial = {k: v for k, v in unet.items() if k.startswith("up_blocks.1.")}
    save_file(partial, out / "unet-partial.safetensors")
    save_file(to_ldm_keys(unet, dict(pipe.unet.config)), out / "ldm.safetensors")
    text = {k: v.contiguous() for k, v in pipe.text_encoder.state_dict().items()}
    save_file(text, out / "text-encoder.safetensors")
    return {"unet": out / "unet.safetensors", "unet.pt": out / "unet.pt",
            "unet-partial": out / "unet-partial.safetensors", "ldm": out / "ldm.safetensors",
            "text-encoder": out / "text-encoder.safetensors", "pipeline": model}


def save_lora(model: Path, out: Path, scale: float = 0.1) -> Path:
    """A peft LoRA on the UNet's attention projections, with random B matrices of std `scale`."""
    import torch
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipe = StableDiffusionPipeline.from_pretrained(model)
    pipe.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                     init_lora_weights=True))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in pipe.unet.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn_like(param) * scale)
    StableDiffusionPipeline.save_lora_weights(out, unet_lora_layers=get_peft_model_state_dict(pipe.unet),
                                              safe_serialization=True)
    return out


def perturbed_unet(model: Path, out: Path, noise: float = 0.05) -> Path:
    """A full UNet state dict of the tiny model with every weight nudged: a stand-in 'unlearned' model."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file

    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    gen = torch.Generator().manual_seed(1)
    state = {k: (v + noise * torch.randn(v.shape, generator=gen) * v.std().clamp(min=1e-3)).contiguous()
             if v.dtype.is_floating_point else v for k, v in unet.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, out)
    return out
