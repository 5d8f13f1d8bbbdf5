"""DeepFloyd IF behind difflab's `Denoiser` protocol; the only module that imports diffusers.

Where the weights come from (aliases, folders, Hub ids, access errors) is `hub`'s business; the
stage II procedure (`difflab.upsampling.upsample`) is built on `IFStageII.bind` below.

Stage I (`IFDenoiser`, 3×64×64) and stage II (`IFStageII`, 64 → 256 px) are UNets on the same
cosine path (`deepfloyd_path()`, integer t < 1000) whose 6 output channels are ε̂ (0–2) and the
learned-range variance v (3–5) (spec §2.1–2.2). Each UNet is loaded alone from a diffusers folder or
Hub repo (``unet/`` + ``scheduler/``), without the T5 encoder, which `prompts.PromptEmbeddings` loads
only when a prompt is neither in a prompt dict nor in the disk cache. Callers pass float32 tensors on
any device; the adapter casts to the UNet's device and dtype (float16 on a GPU) and returns float32
on x_t's device, under torch.no_grad.

Stage II reads the noisy 256-px image concatenated with the upscaled low-res image (noised to
``noise_level`` on its own schedule and told to the UNet as ``class_labels``), as diffusers'
IFSuperResolutionPipeline does. `IFStageII` is the denoiser of that 6-channel *joint* state; `bind`
pins the low-res half and returns an ordinary 3-channel denoiser. A wrapper given to `bind`
(``wrap(denoiser) -> denoiser``, e.g. a multi-view anagram denoiser) wraps the joint one,
so its views move the low-res image together with the noisy one (as the visual-anagrams reference does).

Memory modes (``memory=`` "auto", "none", "model-offload" or "sequential-offload"): see `placement`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from ..paths import DiscretePath, deepfloyd_path
from ..sampling import NoiseSource
from .hub import loading, local_files, resolve_source, variant_for
from .placement import MEMORY_MODES, PlacedUNet
from .protocol import Denoiser, ModelOutput
from .prompts import EMBED_LENGTH, PromptEmbeddings, PromptEncoder, load_prompt_dict, model_key

STAGE1_MODELS = {"deepfloyd-if": "DeepFloyd/IF-I-XL-v1.0", "if-i-xl": "DeepFloyd/IF-I-XL-v1.0",
                 "if-i-l": "DeepFloyd/IF-I-L-v1.0", "if-i-m": "DeepFloyd/IF-I-M-v1.0"}
STAGE2_MODELS = {"deepfloyd-if": "DeepFloyd/IF-II-L-v1.0", "if-ii-l": "DeepFloyd/IF-II-L-v1.0",
                 "if-ii-m": "DeepFloyd/IF-II-M-v1.0"}


# -- which models are IF, and loading one UNet ---------------------------------------------------

def is_deepfloyd(name: str) -> bool:
    """Whether a --model value names IF: an alias, a DeepFloyd/ Hub id, or a folder with unet/ and scheduler/."""
    folder = Path(str(name)).expanduser()
    if folder.is_dir():
        return all((folder / name).is_file() for name in ("unet/config.json", "scheduler/scheduler_config.json"))
    return str(name).lower() in {**STAGE1_MODELS, **STAGE2_MODELS} or str(name).startswith("DeepFloyd/")


def check_schedule(scheduler, source: str, path: DiscretePath) -> None:
    """Refuse a scheduler that is not IF's: ε prediction, learned-range variance, ᾱ equal to `path`'s."""
    cfg = scheduler.config
    abar = torch.as_tensor(scheduler.alphas_cumprod, dtype=torch.float64)
    same = len(abar) == len(path.alphas_cumprod) and float((abar - path.alphas_cumprod).abs().max()) <= 1e-6
    if not (same and cfg.get("prediction_type") == "epsilon" and cfg.get("variance_type") == "learned_range"):
        raise UserError(f"{source} is not a DeepFloyd IF model: its scheduler ({cfg.get('beta_schedule')}, "
                        f"{cfg.get('num_train_timesteps')} steps, {cfg.get('variance_type')} variance, "
                        f"{cfg.get('prediction_type')}) is not IF's cosine learned-range ε schedule over 1000 steps")


def _load(source: str, dtype: torch.dtype, offline: bool | None, noising: bool = False):
    """(UNet, noising-scheduler ᾱ or None) from a folder or Hub repo, the IF scheduler checked."""
    from diffusers import DDPMScheduler, UNet2DConditionModel

    local = local_files(offline)
    with loading(source, "UNet", offline):
        scheduler = DDPMScheduler.from_pretrained(source, subfolder="scheduler", **local)
        check_schedule(scheduler, source, deepfloyd_path())
        abar = None
        if noising:
            noiser = DDPMScheduler.from_pretrained(source, subfolder="image_noising_scheduler", **local)
            abar = torch.as_tensor(noiser.alphas_cumprod, dtype=torch.float64)
        unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", variant=variant_for(source, "unet"),
                                                    torch_dtype=dtype, **local)
    return unet.eval().requires_grad_(False), abar


class _IFBase:
    """Attributes shared by the IF denoisers (spec §2.1: cosine path, ε, images in [−1, 1], text)."""

    prediction_type = "epsilon"
    value_range = (-1.0, 1.0)
    condition_kind = "text"

    def __init__(self, net: PlacedUNet):
        self.net, self.path = net, deepfloyd_path()
        self.channels = net.config.out_channels // 2
        self.side = net.config.sample_size

    @property
    def device(self) -> torch.device:
        return self.net.device

    @property
    def prompts(self) -> PromptEmbeddings:
        return self.net.prompts

    def encode(self, conditions: Sequence[str | None]) -> Tensor:
        """(N, 77, 4096) float32 on the CPU; None and "" give the empty prompt (CFG's null condition)."""
        return self.net.prompts([None if c is None else str(c) for c in conditions])

    def offload(self) -> None:
        self.net.offload()


class IFDenoiser(_IFBase):
    """Stage I: ε̂ and the learned variance of IF-I for x_t (N, 3, 64, 64) at integer t (N,)."""

    def __init__(self, net: PlacedUNet):
        super().__init__(net)
        if net.config.in_channels != self.channels:
            raise UserError(f"{net.source} is not an IF stage I model ({net.config.in_channels} input channels)")
        self.image_shape = (self.channels, self.side, self.side)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        out = self.net(x_t, t, cond)
        return ModelOutput(out[:, :self.channels], out[:, self.channels:])


class IFStageII(_IFBase):
    """Stage II on the joint state [x_t, noised upscaled low-res] (N, 6, 256, 256) at its noise level.

    Its prediction and variance carry zeros in the low-res half; `bind` turns it into a 3-channel denoiser.
    """

    def __init__(self, net: PlacedUNet, noising: DiscretePath, noise_level: int = 250):
        super().__init__(net)
        if net.config.in_channels != 2 * self.channels:
            raise UserError(f"{net.source} is not an IF stage II model ({net.config.in_channels} input channels)")
        if not 0 <= noise_level < noising.num_train_steps:
            raise UserError(f"noise level {noise_level} is outside 0..{noising.num_train_steps - 1}")
        self.noising, self.noise_level = noising, int(noise_level)
        self.image_shape = (2 * self.channels, self.side, self.side)

    def with_noise_level(self, noise_level: int) -> "IFStageII":
        return IFStageII(self.net, self.noising, noise_level)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        level = torch.full((x_t.shape[0],), self.noise_level, dtype=torch.long)
        out = self.net(x_t, t, cond, class_labels=level)
        zeros = torch.zeros_like(out[:, :self.channels])
        return ModelOutput(torch.cat([out[:, :self.channels], zeros], 1), torch.cat([out[:, self.channels:], zeros], 1))

    def condition(self, low_res: Tensor, noise: NoiseSource) -> Tensor:
        """The low-res images (N, 3, h, w) upscaled bilinearly to stage II's side and noised to noise_level."""
        if low_res.dim() != 4 or low_res.shape[1] != self.channels:
            raise ValueError(f"low-res images must be (N, {self.channels}, H, W), got {tuple(low_res.shape)}")
        low_res = low_res.float().clamp(-1, 1)  # our DDPM steps do not threshold: stage I may overshoot
        up = F.interpolate(low_res, (self.side, self.side), mode="bilinear", align_corners=True)
        return self.noising.add_noise(up, noise.like(up), torch.full((len(up),), self.noise_level))

    def bind(self, low_res: Tensor, noise: NoiseSource | Sequence[int],
             wrap: Callable[[Denoiser], Denoiser] | None = None) -> "BoundStageII":
        """A 3-channel denoiser for this batch of low-res images (noised with `noise`, or one seed each);
        `wrap` wraps the joint denoiser."""
        noise = noise if isinstance(noise, NoiseSource) else NoiseSource(noise)
        return BoundStageII(wrap(self) if wrap else self, self.condition(low_res, noise))


class BoundStageII:
    """A joint stage-II denoiser with its low-res half pinned: an ordinary (N, 3, 256, 256) denoiser."""

    def __init__(self, joint: Denoiser, upscaled: Tensor):
        self.joint, self.upscaled = joint, upscaled
        self.path, self.prediction_type = joint.path, joint.prediction_type
        self.value_range, self.condition_kind = joint.value_range, joint.condition_kind
        self.image_shape = tuple(upscaled.shape[1:])

    def encode(self, conditions):
        return self.joint.encode(conditions)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        n, c = len(self.upscaled), x_t.shape[1]
        if x_t.shape[0] % n:
            raise ValueError(f"a batch of {x_t.shape[0]} images for {n} bound low-res images")
        up = self.upscaled.to(x_t).repeat(x_t.shape[0] // n, 1, 1, 1)  # CFG stacks [cond; uncond] batches
        out = self.joint(torch.cat([x_t, up], 1), t, cond)
        return ModelOutput(out.prediction[:, :c], None if out.variance is None else out.variance[:, :c])




# -- loading -----------------------------------------------------------------------------------------

def _setup(device, dtype, memory) -> tuple[torch.device, torch.dtype]:
    device = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device} was asked for, but PyTorch sees no CUDA GPU here (use --device cpu)")
    if memory not in MEMORY_MODES:
        raise UserError(f"unknown memory mode {memory!r}; choose one of {', '.join(MEMORY_MODES)}")
    return device, dtype or (torch.float16 if device.type == "cuda" else torch.float32)


def _prompt_bank(source, unet, device, memory, prompt_embeds, text_encoder, cache_dir, offline) -> PromptEmbeddings:
    width = unet.config.encoder_hid_dim or unet.config.cross_attention_dim
    table, name = None, "the prompt dict"
    if isinstance(prompt_embeds, Mapping):
        table = prompt_embeds
    elif prompt_embeds is not None:
        table, name = load_prompt_dict(prompt_embeds, width, EMBED_LENGTH), str(prompt_embeds)
    encoder_source = source if text_encoder is None else text_encoder
    factory = (lambda: PromptEncoder(encoder_source, device=device, offline=offline)) if encoder_source else None
    return PromptEmbeddings(model_key(encoder_source or source), width, EMBED_LENGTH, table, name, factory,
                            cache_dir, keep_encoder=memory == "none" or device.type != "cuda")


def load_deepfloyd(stage1: str = "deepfloyd-if", *, device=None, dtype: torch.dtype | None = None,
                   memory: str = "auto", prompt_embeds=None, text_encoder: str | bool | None = None,
                   cache_dir=None, offline: bool | None = None) -> IFDenoiser:
    """Load IF stage I as a Denoiser.

    stage1: "deepfloyd-if" / "if-i-xl" (IF-I-XL), "if-i-l", "if-i-m", a Hub id or a local diffusers folder.
    device: default cuda if available; dtype: default float16 on a GPU, float32 on the CPU.
    memory: "auto", "none", "model-offload" or "sequential-offload" (ignored on the CPU).
    prompt_embeds: a prompt dict (str → (1, 77, 4096)) or a file for `load_prompt_dict`, looked up first.
    text_encoder: where the T5 encoder is loaded from when a prompt must be encoded (default: stage1's
    repo; False: never). cache_dir: the embedding cache (default $DIFFLAB_CACHE/prompt-embeds/<model>).
    offline: True never touches the network (default: huggingface_hub's HF_HUB_OFFLINE).
    """
    device, dtype = _setup(device, dtype, memory)
    source = resolve_source(stage1, STAGE1_MODELS, offline)
    unet, _ = _load(source, dtype, offline)
    prompts = _prompt_bank(source, unet, device, memory, prompt_embeds, text_encoder, cache_dir, offline)
    return IFDenoiser(PlacedUNet(unet, source, device, memory, prompts))


def load_deepfloyd_stage2(stage2: str = "if-ii-l", *, device=None, dtype: torch.dtype | None = None,
                          memory: str = "auto", prompts: PromptEmbeddings | None = None, prompt_embeds=None,
                          text_encoder: str | bool | None = None, cache_dir=None, offline: bool | None = None,
                          noise_level: int = 250) -> IFStageII:
    """Load IF stage II ("if-ii-l", "if-ii-m", a Hub id or a folder); pass stage 1's `.prompts` to share them.

    noise_level: how far the upscaled low-res image is noised before it conditions the UNet (IF: 250).
    The other arguments are those of `load_deepfloyd`.
    """
    device, dtype = _setup(device, dtype, memory)
    source = resolve_source(stage2, STAGE2_MODELS, offline)
    unet, abar = _load(source, dtype, offline, noising=True)
    if prompts is None:
        prompts = _prompt_bank(source, unet, device, memory, prompt_embeds, text_encoder, cache_dir, offline)
    width = unet.config.encoder_hid_dim or unet.config.cross_attention_dim
    if prompts.width != width:
        raise UserError(f"{source} reads prompt embeddings {width} wide, but the given ones are {prompts.width} wide")
    noising = DiscretePath(abar, len(abar), name="if-ii-noising")
    return IFStageII(PlacedUNet(unet, source, device, memory, prompts), noising, noise_level)
