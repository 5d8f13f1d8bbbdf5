"""DeepFloyd IF behind difflab's `Denoiser` protocol; the only module that imports diffusers.

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
pins the low-res half and returns an ordinary 3-channel denoiser. A wrapper given to `bind` or
`upsample` (``wrap(denoiser) -> denoiser``, e.g. a multi-view anagram denoiser) wraps the joint one,
so its views move the low-res image together with the noisy one (as the visual-anagrams reference does).

Memory modes (``memory=``): "none" (the UNet stays on the GPU), "model-offload" (the UNet lives on
the CPU and moves to the GPU when called, evicting the other offloaded IF UNet), "sequential-offload"
(accelerate streams each layer to the GPU; least memory, slowest) and "auto" (chosen from
`torch.cuda.mem_get_info`). On the CPU the mode is always "none".
"""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from ..guidance import GuidedDenoiser
from ..paths import DiscretePath, deepfloyd_path
from ..sampling import NoiseSource, sample_loop
from ..solvers import Solver
from .protocol import Denoiser, ModelOutput
from .prompts import EMBED_LENGTH, PromptEmbeddings, PromptEncoder, load_prompt_dict, model_key

STAGE1_MODELS = {"deepfloyd-if": "DeepFloyd/IF-I-XL-v1.0", "if-i-xl": "DeepFloyd/IF-I-XL-v1.0",
                 "if-i-l": "DeepFloyd/IF-I-L-v1.0", "if-i-m": "DeepFloyd/IF-I-M-v1.0"}
STAGE2_MODELS = {"deepfloyd-if": "DeepFloyd/IF-II-L-v1.0", "if-ii-l": "DeepFloyd/IF-II-L-v1.0",
                 "if-ii-m": "DeepFloyd/IF-II-M-v1.0"}
MEMORY_MODES = ("auto", "none", "model-offload", "sequential-offload")
LICENCE_PAGE = "https://huggingface.co/DeepFloyd/IF-I-XL-v1.0"  # accepting it accepts every IF model
HEADROOM = 2 * 2**30  # bytes kept free for activations beside a UNet's weights
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_RESIDENT: list["_IFUNet"] = []  # model-offload UNets now on the GPU


# -- where the weights come from, and what to say when they cannot be had -------------------------

def resolve_source(name: str, aliases: Mapping[str, str] = STAGE1_MODELS) -> str:
    """An alias, an existing local folder or a Hub id → what from_pretrained gets; UserError otherwise."""
    name = str(name)
    if name.lower() in aliases:
        return aliases[name.lower()]
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if _HUB_ID.match(name):
        return name
    raise UserError(f"no model folder at {name}: give a local DeepFloyd IF folder (with unet/ and scheduler/ "
                    f"inside), a Hugging Face id such as DeepFloyd/IF-I-XL-v1.0, or one of {', '.join(aliases)}")


def is_deepfloyd(name: str) -> bool:
    """Whether a --model value names IF: an alias, a DeepFloyd/ Hub id, or a folder with unet/ and scheduler/."""
    folder = Path(str(name)).expanduser()
    if folder.is_dir():
        return all((folder / name).is_file() for name in ("unet/config.json", "scheduler/scheduler_config.json"))
    return str(name).lower() in {**STAGE1_MODELS, **STAGE2_MODELS} or str(name).startswith("DeepFloyd/")


def hub_errors() -> tuple[type[BaseException], ...]:
    """The exceptions from_pretrained raises for missing, gated or unreachable weights."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from huggingface_hub.errors import HfHubHTTPError, HFValidationError
        errors += [HfHubHTTPError, HFValidationError]
    except ImportError:  # pragma: no cover - very old huggingface_hub
        pass
    return tuple(errors)


@contextlib.contextmanager
def quiet_loading():
    """Hide a deprecation warning that diffusers/transformers trigger inside huggingface_hub on every load."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
        yield


def not_available(source: str, part: str, err: BaseException | None = None) -> UserError:
    """The one-line error for weights that cannot be loaded: how to get access, or what the folder lacks."""
    if Path(source).is_dir():
        reason = str(err).strip().splitlines()[0] if err is not None and str(err).strip() else "files missing"
        return UserError(f"cannot load the DeepFloyd IF {part} from the folder {source}: {reason}")
    page = LICENCE_PAGE if source.startswith("DeepFloyd/") else f"https://huggingface.co/{source}"
    return UserError(f"DeepFloyd IF weights are not available here ({source}, {part}): accept the licence at {page} "
                     "while logged in, then run `hf auth login` (or set HF_TOKEN) with a read token, and run again "
                     "online once to download them.")


def variant_for(source: str, subfolder: str) -> str | None:
    """"fp16" for Hub repos (IF ships fp16 files; they are upcast for the CPU), else what the folder has."""
    folder = Path(source) / subfolder
    if Path(source).is_dir():
        return "fp16" if any(".fp16." in f.name for f in folder.glob("*")) else None
    return "fp16"


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

    local = {} if offline is None else {"local_files_only": offline}
    try:
        with quiet_loading():
            scheduler = DDPMScheduler.from_pretrained(source, subfolder="scheduler", **local)
            check_schedule(scheduler, source, deepfloyd_path())
            abar = None
            if noising:
                noiser = DDPMScheduler.from_pretrained(source, subfolder="image_noising_scheduler", **local)
                abar = torch.as_tensor(noiser.alphas_cumprod, dtype=torch.float64)
            unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", variant=variant_for(source, "unet"),
                                                        torch_dtype=dtype, **local)
    except hub_errors() as err:
        raise not_available(source, "UNet", err) from err
    return unet.eval().requires_grad_(False), abar


# -- devices and memory ------------------------------------------------------------------------------

def auto_memory(weight_bytes: int, free: int, total: int) -> str:
    """The memory mode for a UNet of `weight_bytes` on a GPU with `free` of `total` bytes available."""
    if free >= 2 * weight_bytes + HEADROOM:  # room for it and another model (stage II or the T5) beside it
        return "none"
    if total >= weight_bytes + HEADROOM:  # it fits once the other models have been moved off
        return "model-offload"
    return "sequential-offload"


def choose_memory(memory: str, device: torch.device, weight_bytes: int) -> str:
    if memory not in MEMORY_MODES:
        raise UserError(f"unknown memory mode {memory!r}; choose one of {', '.join(MEMORY_MODES)}")
    if device.type != "cuda":
        return "none"
    if memory != "auto":
        return memory
    return auto_memory(weight_bytes, *torch.cuda.mem_get_info(device))


class _IFUNet:
    """A diffusers IF UNet placed per memory mode, with the prompt embeddings it reads."""

    def __init__(self, unet, source: str, device: torch.device, memory: str, prompts: PromptEmbeddings):
        self.unet, self.source, self.device, self.prompts = unet, source, device, prompts
        self.dtype, self.config = unet.dtype, unet.config
        weights = sum(p.numel() * p.element_size() for p in unet.parameters())
        self.memory = choose_memory(memory, device, weights)
        if self.memory == "none":
            unet.to(device)
        elif self.memory == "sequential-offload":
            from accelerate import cpu_offload
            cpu_offload(unet, execution_device=device)

    def offload(self) -> None:
        """Move a model-offload UNet back to the CPU (done for you when another one runs)."""
        if self in _RESIDENT:
            self.unet.to("cpu")
            _RESIDENT.remove(self)
            torch.cuda.empty_cache()

    def _place(self) -> None:
        if self.memory == "model-offload" and self not in _RESIDENT:
            for other in list(_RESIDENT):
                other.offload()
            self.prompts.release()
            self.unet.to(self.device)
            _RESIDENT.append(self)

    @torch.no_grad()
    def __call__(self, model_input: Tensor, t: Tensor, cond: Tensor | None, class_labels: Tensor | None = None):
        """The raw UNet output (N, out_channels, H, W), float32 on model_input's device."""
        n = model_input.shape[0]
        if cond is None:
            cond = self.prompts([None]).expand(n, -1, -1)
        want = (n, self.prompts.length, self.prompts.width)
        if tuple(cond.shape) != want:
            raise ValueError(f"prompt embeddings of shape {tuple(cond.shape)} for a batch needing {want}")
        t = torch.as_tensor(t).reshape(-1).expand(n).to(self.device, torch.long)
        self._place()
        kwargs = {} if class_labels is None else {"class_labels": class_labels.to(self.device)}
        x, cond = model_input.to(self.device, self.dtype), cond.to(self.device, self.dtype)
        out = self.unet(x, t, encoder_hidden_states=cond, return_dict=False, **kwargs)[0]
        return out.float().to(model_input.device)


class _IFBase:
    """Attributes shared by the IF denoisers (spec §2.1: cosine path, ε, images in [−1, 1], text)."""

    prediction_type = "epsilon"
    value_range = (-1.0, 1.0)
    condition_kind = "text"

    def __init__(self, net: _IFUNet):
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

    def __init__(self, net: _IFUNet):
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

    def __init__(self, net: _IFUNet, noising: DiscretePath, noise_level: int = 250):
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


def upsample(stage2: IFStageII, images: Tensor, cond: Tensor | Sequence[str], seeds: Sequence[int], *,
             timesteps: Sequence[int] | None = None, steps: int = 30, guidance: float = 7.0,
             noise_level: int | None = None, wrap: Callable[[Denoiser], Denoiser] | None = None,
             solver: Solver | None = None, progress: Callable | None = None) -> Tensor:
    """Stage II: (N, 3, h, w) images in [−1, 1] → (N, 3, 256, 256), CFG-guided, one seed per image.

    cond: prompt embeddings (N, 77, 4096), prompts, or None when `wrap` holds its own conditions.
    `wrap` receives the CFG-guided joint denoiser (e.g. an anagram's multi-view wrapper, whose views
    then act on the low-res image too, or a hybrid's factorized one).
    """
    model = stage2 if noise_level is None else stage2.with_noise_level(noise_level)
    if cond is not None and not isinstance(cond, Tensor):
        cond = model.encode(list(cond))
    noise = NoiseSource(seeds)
    if len(noise) != len(images):
        raise ValueError(f"{len(images)} images but {len(noise)} seeds")
    guided = lambda joint: GuidedDenoiser(joint, guidance)  # noqa: E731
    bound = model.bind(images, noise, wrap=(lambda joint: wrap(guided(joint))) if wrap else guided)
    x = noise.randn(bound.image_shape, device=images.device)
    return sample_loop(bound, x, timesteps or bound.path.grid(steps), cond, solver=solver, noise=noise, progress=progress)


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
    source = resolve_source(stage1, STAGE1_MODELS)
    unet, _ = _load(source, dtype, offline)
    prompts = _prompt_bank(source, unet, device, memory, prompt_embeds, text_encoder, cache_dir, offline)
    return IFDenoiser(_IFUNet(unet, source, device, memory, prompts))


def load_deepfloyd_stage2(stage2: str = "if-ii-l", *, device=None, dtype: torch.dtype | None = None,
                          memory: str = "auto", prompts: PromptEmbeddings | None = None, prompt_embeds=None,
                          text_encoder: str | bool | None = None, cache_dir=None, offline: bool | None = None,
                          noise_level: int = 250) -> IFStageII:
    """Load IF stage II ("if-ii-l", "if-ii-m", a Hub id or a folder); pass stage 1's `.prompts` to share them.

    noise_level: how far the upscaled low-res image is noised before it conditions the UNet (IF: 250).
    The other arguments are those of `load_deepfloyd`.
    """
    device, dtype = _setup(device, dtype, memory)
    source = resolve_source(stage2, STAGE2_MODELS)
    unet, abar = _load(source, dtype, offline, noising=True)
    if prompts is None:
        prompts = _prompt_bank(source, unet, device, memory, prompt_embeds, text_encoder, cache_dir, offline)
    width = unet.config.encoder_hid_dim or unet.config.cross_attention_dim
    if prompts.width != width:
        raise UserError(f"{source} reads prompt embeddings {width} wide, but the given ones are {prompts.width} wide")
    noising = DiscretePath(abar, len(abar), name="if-ii-noising")
    return IFStageII(_IFUNet(unet, source, device, memory, prompts), noising, noise_level)
