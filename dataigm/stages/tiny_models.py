"""Tiny random-weight models built in code (no download) for the smoke preset, tests and CPU
benchmarks: a Stable Diffusion pipeline and a CLIP model. They have the real architecture classes,
tokenizer and `save_pretrained`/`from_pretrained` round trip, at a size that runs in milliseconds
on a CPU. Their outputs mean nothing; the code paths they exercise are the real ones."""

from __future__ import annotations

from pathlib import Path

TINY_SIZE = 64  # pixels; the VAE downsamples by 8 as in SD 1.x


def char_tokenizer():
    """A CLIP tokenizer with a character-level byte-BPE vocabulary (no merges): the real
    CLIPTokenizer code path, built offline."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


# Architectures: "tiny" for CPU tests; "sd15" is Stable Diffusion 1.5's exact architecture with
# random weights (same FLOPs as the real model) for GPU benchmarks when weights are not at hand.
ARCHS: dict[str, dict] = {
    "tiny": {"text": dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                          projection_dim=32),
             "unet": dict(block_out_channels=(32, 64), layers_per_block=1, sample_size=TINY_SIZE // 8,
                          down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                          up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                          attention_head_dim=8, norm_num_groups=32),
             "vae": dict(block_out_channels=[32, 32, 32, 32], layers_per_block=1, norm_num_groups=32,
                         sample_size=TINY_SIZE)},
    "sd15": {"text": dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                          projection_dim=768, hidden_act="quick_gelu"),
             "unet": dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=64,
                          down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                          up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                          cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32),
             "vae": dict(block_out_channels=[128, 256, 512, 512], layers_per_block=2, norm_num_groups=32,
                         sample_size=512)},
}


def build_tiny_pipeline(path: Path, seed: int = 0, arch: str = "tiny") -> Path:
    """Create, seed and save a random-weight StableDiffusionPipeline at `path`; returns `path`."""
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from dataigm.stages.models import quiet_libraries

    if (path / "model_index.json").exists():
        return path
    quiet_libraries()
    torch.manual_seed(seed)
    tokenizer = char_tokenizer()
    spec = ARCHS[arch]
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **spec["text"]))
    unet = UNet2DConditionModel(in_channels=4, out_channels=4, **spec["unet"])
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4, latent_channels=4, **spec["vae"])
    scheduler = PNDMScheduler(skip_prk_steps=True, steps_offset=1, beta_schedule="scaled_linear",
                              beta_start=0.00085, beta_end=0.012)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return _save_atomically(pipe, path)


def _save_atomically(model, path: Path) -> Path:
    """save_pretrained into a unique temporary folder, then rename; when another process got
    there first, keep its copy (same seed, same bytes)."""
    import os
    import shutil

    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    try:
        tmp.rename(path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def build_tiny_clip(path: Path, seed: int = 0) -> Path:
    """A random-weight CLIPModel (text and vision towers) with its tokenizer and image processor,
    loadable by CLIPModel/CLIPProcessor and CLIPVisionModelWithProjection."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from dataigm.stages.models import quiet_libraries

    if (path / "config.json").exists():
        return path
    quiet_libraries()
    torch.manual_seed(seed)
    tokenizer = char_tokenizer()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, projection_dim=16),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                           image_size=32, patch_size=8, projection_dim=16),
        projection_dim=16)
    model = CLIPModel(config)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer)

    class _Both:
        def save_pretrained(self, target: Path) -> None:
            model.save_pretrained(target)
            processor.save_pretrained(target)

    return _save_atomically(_Both(), path)
