"""Tiny, randomly initialised DeepFloyd IF folders for tests: the real layout, seconds on a CPU.

`make_tiny_if(root)` saves a stage I pipeline folder (``unet/``, ``scheduler/``, ``text_encoder/``,
``tokenizer/``, ``model_index.json``) and `make_tiny_if_stage2(root)` a stage II one (``unet/``,
``scheduler/``, ``image_noising_scheduler/``, ``model_index.json``), exactly as the Hub repos
``DeepFloyd/IF-I-XL-v1.0`` and ``DeepFloyd/IF-II-L-v1.0`` are laid out, so that
``difflab.models.deepfloyd.load_deepfloyd(str(folder))`` runs its real loading code on them.

Sizes: stage I images are 3×16×16, stage II 3×32×32, prompt embeddings (N, 77, 40). Nothing is
downloaded: the T5 tokenizer is a word-level one built here from a short vocabulary.

Use from any test (with ``tests`` on the path)::

    from models.tiny_if import make_tiny_if
    denoiser = load_deepfloyd(str(make_tiny_if(tmp_path)))
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub from a test

SIZE, SIZE2, WIDTH = 16, 32, 40  # stage I side, stage II side, T5 width (IF: 64, 256, 4096)
WORDS = ("a an the of photo oil painting lithograph high quality man hat dog rocket ship pencil skull "
         "waterfalls old people around campfire snowy mountain village wearing barista hipster").split()

_IF_UNET = dict(  # IF's block layout (diffusers' IF test components), shrunk
    layers_per_block=1, down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
    mid_block_type="UNetMidBlock2DSimpleCrossAttn",
    up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
    block_out_channels=(16, 32), norm_num_groups=8, cross_attention_dim=32, encoder_hid_dim=WIDTH,
    attention_head_dim=8, addition_embed_type="text", addition_embed_type_num_heads=2,
    cross_attention_norm="group_norm", resnet_time_scale_shift="scale_shift", act_fn="gelu",
)
_IF_SCHEDULER = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon",
                     variance_type="learned_range", thresholding=True, dynamic_thresholding_ratio=0.95,
                     sample_max_value=1.5, clip_sample=True, clip_sample_range=1.0)


def tiny_tokenizer():
    """A T5-like word-level tokenizer (pad 0, eos 1, unk 2; eos appended), built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(("<pad>", "</s>", "<unk>", *WORDS))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=77)


def tiny_text_encoder():
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=len(WORDS) + 3, d_model=WIDTH, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
                      relative_attention_num_buckets=8, dropout_rate=0.0, feed_forward_proj="gated-gelu")
    return T5EncoderModel(config).eval()


def make_tiny_if(root: str | os.PathLike) -> Path:
    """Save a tiny random stage I pipeline under root/tiny-if-I and return that folder (reused if present)."""
    from diffusers import DDPMScheduler, IFPipeline, UNet2DConditionModel

    folder = Path(root) / "tiny-if-I"
    if (folder / "model_index.json").exists():
        return folder
    with torch.random.fork_rng():
        torch.manual_seed(0)
        unet = UNet2DConditionModel(sample_size=SIZE, in_channels=3, out_channels=6, **_IF_UNET)
        pipe = IFPipeline(tokenizer=tiny_tokenizer(), text_encoder=tiny_text_encoder(), unet=unet,
                          scheduler=DDPMScheduler(**_IF_SCHEDULER), safety_checker=None, feature_extractor=None,
                          watermarker=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder


def make_tiny_if_stage2(root: str | os.PathLike) -> Path:
    """Save a tiny random stage II (super-resolution) pipeline under root/tiny-if-II and return that folder.

    Like IF-II, its UNet reads 6 channels (noisy image + noised upscaled low-res image) and embeds the
    low-res noise level through ``class_embed_type="timestep"``.
    """
    from diffusers import DDPMScheduler, IFSuperResolutionPipeline, UNet2DConditionModel

    folder = Path(root) / "tiny-if-II"
    if (folder / "model_index.json").exists():
        return folder
    with torch.random.fork_rng():
        torch.manual_seed(1)
        unet = UNet2DConditionModel(sample_size=SIZE2, in_channels=6, out_channels=6, class_embed_type="timestep",
                                    mid_block_scale_factor=1.414, time_embedding_act_fn="gelu", **_IF_UNET)
        noising = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
        pipe = IFSuperResolutionPipeline(tokenizer=None, text_encoder=None, unet=unet,
                                         scheduler=DDPMScheduler(**_IF_SCHEDULER), image_noising_scheduler=noising,
                                         safety_checker=None, feature_extractor=None, watermarker=None,
                                         requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder
