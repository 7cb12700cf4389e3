"""Any diffusers text-to-image pipeline: a tiny random-weight SDXL goes through the same
AutoPipelineForText2Image loading path and build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import load_release, smoke_build


@pytest.fixture(scope="module")
def tiny_sdxl(tmp_path_factory) -> str:
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from dataigm.stages.tiny_models import char_tokenizer

    torch.manual_seed(0)
    tok = char_tokenizer()
    text = CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                          num_hidden_layers=2, max_position_embeddings=77, projection_dim=32,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=32)
    vae = AutoencoderKL(block_out_channels=[32, 32, 32, 32], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        latent_channels=4, layers_per_block=1, norm_num_groups=32, sample_size=64)
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(text), text_encoder_2=CLIPTextModelWithProjection(text),
        tokenizer=tok, tokenizer_2=tok, unet=unet, scheduler=EulerDiscreteScheduler(steps_offset=1))
    path = tmp_path_factory.mktemp("models") / "tiny-sdxl"
    pipe.save_pretrained(path)
    return str(path)


def test_sdxl_builds_with_recorded_pipeline(tiny_sdxl, tmp_path):
    out = tmp_path / "release"
    smoke_build(out, ["church"], image_limit=1, model=tiny_sdxl, scheduler="dpmpp_2m")
    rows = [r for s in load_release(out, "church").values() for r in s]
    assert rows and {r["pipeline"] for r in rows} == {"StableDiffusionXLPipeline"}
    assert {r["scheduler"] for r in rows} == {"DPMSolverMultistepScheduler"}
    assert {r["safety_checker"] for r in rows} == {"absent"}
    assert all(r["image"].size == (64, 64) for r in rows) and Path(tiny_sdxl).exists()
