"""Training configurations: one frozen dataclass, the course's published recipes, and quick ones.

A preset is ``<preset>-<recipe>``: `preset` is "course" (the exact published hyperparameters,
spec §3.3–3.7) or "quick" (recognisable results on a 2-core CPU in minutes); `recipe` is one of
the Part B models below. Every field can then be overridden (`dataclasses.replace`, or a
``--field-name value`` flag of ``difflab train``).

| recipe            | kind       | net                          | course (published)                               |
|-------------------|------------|------------------------------|--------------------------------------------------|
| denoise           | denoise    | unconditional, D = 128       | σ = 0.5, batch 256, Adam 1e-4, 5 epochs (§3.3)   |
| pure-noise        | pure-noise | unconditional, D = 128       | z = ε, same hyperparameters (§3.5)               |
| ddpm              | ddpm       | time (add), D = 64           | T = 300, batch 128, Adam 1e-3, ExpLR, 20 epochs  |
| ddpm-class        | ddpm       | time+class, D = 64           | as ddpm, p_uncond = 0.1, CFG γ = 5 (§3.6)        |
| flow              | flow       | time (mul), D = 64           | batch 64, Adam 1e-2, ExpLR, 10 epochs (§3.7)     |
| flow-class        | flow       | time+class, D = 64           | as flow, p_uncond = 0.1, CFG γ = 5               |
| flow-class-nolr   | flow       | time+class, D = 64           | as flow-class without the scheduler: constant lr |

The "without the scheduler" run (FA25 2.6 extra) uses a constant lr of 1e-3: the lr the scheduled
run ends on, where its samples are judged. A constant 1e-2 keeps the loss noisy to the end, and
W3's 1e-4 converges visibly slower in 10 epochs; 1e-3 lies between and needs no decay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .. import validate as checks
from ..data import DATASETS
from ..defaults import GUIDANCE
from ..models.course import UNET_LIMITS
from ..errors import UserError
from .parallel import PRECISIONS

KINDS = ("denoise", "pure-noise", "ddpm", "flow")
CONDITIONINGS = ("none", "time", "time+class")
LR_SCHEDULES = ("exponential", "constant")
PRESETS = ("course", "quick")
RECIPES = ("denoise", "pure-noise", "ddpm", "ddpm-class", "flow", "flow-class", "flow-class-nolr")


def _option(default, help: str, choices: tuple[str, ...] | None = None):
    """A config field whose help text (and choices) become those of its ``difflab train`` flag."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; the run folder's config.json is this, resolved."""

    kind: str = _option("flow", "denoise | pure-noise | ddpm | flow")
    conditioning: str = _option("time+class", "none (denoise, pure-noise) | time | time+class")
    time_mode: str = _option("mul", "time-only nets: add (DDPM, FA24) | mul (flow, FA25)")
    dataset: str = _option("mnist-5k", "mnist-5k (offline) | mnist | fashion-mnist")
    data_root: str | None = _option(None, "folder of the idx files (mnist, fashion-mnist)")
    download: bool = _option(False, "download missing idx files")
    train_images: int = _option(0, "train on the first this many images of the training split (0: all)")
    hidden: int = _option(64, "D, the UNet width")
    batch_size: int = _option(64, "images per optimizer step")
    epochs: int = _option(10, "passes over the training split")
    lr: float = _option(1e-2, "Adam's initial learning rate")
    lr_schedule: str = _option("exponential", "exponential (lr decays by lr_decay over the run, stepped per "
                               "epoch) | constant")
    lr_decay: float = _option(0.1, "total lr factor over the run: ExponentialLR gamma = lr_decay^(1/epochs)")
    sigma: float = _option(0.5, "denoise: noise level of z = x + sigma*eps")
    num_train_steps: int = _option(300, "DDPM: T")
    beta_start: float = _option(1e-4, "DDPM: beta_1")
    beta_end: float = _option(0.02, "DDPM: beta_T")
    p_uncond: float = _option(0.1, "probability of dropping a class label to the null class")
    guidance: float = _option(GUIDANCE["class"], "CFG scale of class-conditioned sample grids: u + g(c - u)")
    sample_epochs: tuple[int, ...] = _option((1, 5, 10), "epochs after which sample grids are drawn, e.g. 1,5,10")
    sample_steps: int = _option(300, "sampling steps of the grids: flow Euler steps; DDPM strided steps (T = all)")
    samples: int = _option(40, "grid size for time-only and pure-noise models")
    samples_per_class: int = _option(4, "class-conditioned grids: samples of every class")
    sample_seed: int = _option(0, "image i of every grid uses seed sample_seed + i")
    seed: int = _option(0, "seed of the initial weights, the data order and the training noise")
    ema_decay: float = _option(0.999, "EMA decay of the weights (0 disables the EMA)")
    ema_warmup: bool = _option(True, "EMA decay min(ema_decay, (1 + n)/(10 + n)) after n updates")
    export_weights: str = _option("ema", "weights in model.safetensors: ema | raw")
    test_images: int = _option(256, "held-out images for the per-epoch test loss (0: none)")
    checkpoint_every: int = _option(0, "also checkpoint every this many steps (0: once per epoch)")
    device: str = _option("auto", "auto (a CUDA GPU when one is visible, else the CPU) | cpu | cuda | cuda:N")
    threads: int = _option(0, "torch CPU threads (0: torch's default)")
    precision: str = _option("fp32", "fp32 | mixed (bf16 where the device has it, else fp16 with a GradScaler) | "
                             "bf16 | fp16", PRECISIONS)
    channels_last: bool = _option(False, "train with channels-last tensors (faster convolutions on GPUs)")
    compile: bool = _option(False, "train through torch.compile")
    preset: str = _option("", "the preset the values started from, e.g. quick-flow-class")

    def __post_init__(self):
        validate(self)

    @property
    def lr_gamma(self) -> float:
        """ExponentialLR's per-epoch factor, 0.1^(1/epochs) in the course (pitfall 23)."""
        return self.lr_decay ** (1 / self.epochs) if self.lr_schedule == "exponential" else 1.0

    def lr_at(self, epoch: int) -> float:
        """The learning rate during epoch `epoch` (0-based): lr·γ^epoch, as ExponentialLR gives."""
        return self.lr * self.lr_gamma ** epoch

    @property
    def class_conditioned(self) -> bool:
        return self.conditioning == "time+class"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["sample_epochs"] = list(self.sample_epochs)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        if not isinstance(data, dict):
            raise UserError(f"a training config is a JSON object of settings, not {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown training config keys: {', '.join(unknown)}")
        data = dict(data)
        if isinstance(data.get("sample_epochs"), list):
            data["sample_epochs"] = tuple(data["sample_epochs"])
        return cls(**data)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def validate(c: TrainConfig) -> None:
    """Raise UserError (one line) for any value that cannot train."""
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise UserError(message)

    check_types(c)
    need(c.kind in KINDS, f"unknown kind {c.kind!r}; choose one of {', '.join(KINDS)}")
    need(c.conditioning in CONDITIONINGS, f"unknown conditioning {c.conditioning!r}; choose one of "
         f"{', '.join(CONDITIONINGS)}")
    one_shot = c.kind in ("denoise", "pure-noise")
    need(one_shot == (c.conditioning == "none"),
         f"a {c.kind} model needs conditioning {'none' if one_shot else 'time or time+class'}, got {c.conditioning!r}")
    need(c.time_mode in ("add", "mul"), f"time_mode must be add or mul, got {c.time_mode!r}")
    need(c.dataset in DATASETS, f"unknown dataset {c.dataset!r}; choose one of {', '.join(DATASETS)}")
    for name in ("hidden", "batch_size", "epochs", "sample_steps", "num_train_steps"):
        need(getattr(c, name) >= 1, f"{name} must be at least 1, got {getattr(c, name)}")
    need(c.hidden <= UNET_LIMITS["hidden"], f"hidden must be at most {UNET_LIMITS['hidden']}, got {c.hidden}")
    need(c.num_train_steps <= 100_000, f"num_train_steps must be at most 100000, got {c.num_train_steps}")
    for name in ("train_images", "samples", "samples_per_class", "test_images", "checkpoint_every", "threads"):
        need(getattr(c, name) >= 0, f"{name} must be ≥ 0, got {getattr(c, name)}")
    need(c.lr > 0, f"lr must be positive, got {c.lr}")
    need(c.lr_schedule in LR_SCHEDULES, f"unknown lr_schedule {c.lr_schedule!r}; choose exponential or constant")
    need(0 < c.lr_decay <= 1, f"lr_decay must be in (0, 1], got {c.lr_decay}")
    need(c.sigma >= 0, f"sigma must be ≥ 0, got {c.sigma}")
    need(0 < c.beta_start < c.beta_end < 1, f"need 0 < beta_start < beta_end < 1, got {c.beta_start}, {c.beta_end}")
    need(0 <= c.p_uncond < 1, f"p_uncond must be in [0, 1), got {c.p_uncond}")
    need(c.guidance >= 0, f"guidance must be ≥ 0, got {c.guidance}")
    need(all(1 <= e <= c.epochs for e in c.sample_epochs),
         f"sample_epochs must lie in 1..{c.epochs}, got {list(c.sample_epochs)}")
    if c.kind == "ddpm":
        need(c.num_train_steps % c.sample_steps == 0,
             f"DDPM sample_steps must divide T = {c.num_train_steps}, got {c.sample_steps}")
    need(0 <= c.ema_decay < 1, f"ema_decay must be in [0, 1), got {c.ema_decay}")
    need(c.export_weights in ("ema", "raw"), f"export_weights must be ema or raw, got {c.export_weights!r}")
    need(c.export_weights == "raw" or c.ema_decay > 0, "export_weights ema needs ema_decay > 0")
    need(c.precision in PRECISIONS, f"unknown precision {c.precision!r}; choose one of {', '.join(PRECISIONS)}")
    checks.seeds(c.seed, 1, "seed")
    checks.seeds(c.sample_seed, max(c.samples, c.samples_per_class * 10), "sample_seed")  # 10 classes
    checks.device(c.device, "device")


_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "str | None": (str, type(None)),
          "tuple[int, ...]": (tuple,)}


def check_types(c: TrainConfig) -> None:
    """Every field of the type it declares, and every float finite (a config.json may hold anything)."""
    for f in dataclasses.fields(c):
        value = getattr(c, f.name)
        wanted = _TYPES[f.type]
        wrong = not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted)
        if f.type == "tuple[int, ...]" and not wrong:
            wrong = not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if wrong:
            raise UserError(f"{f.name} must be {f.type}, not {value!r}")
        if f.type == "float":
            checks.number(value, f.name)


# The published hyperparameters (spec §3.3–3.7). T = 300 steps for class-conditioned grids and
# 50 for time-only flow grids are the starter code's defaults (spec §6.5).
_COURSE = {
    "denoise": dict(kind="denoise", conditioning="none", hidden=128, batch_size=256, epochs=5, lr=1e-4,
                    lr_schedule="constant", sigma=0.5, sample_epochs=(1, 5), samples=10),
    "ddpm": dict(kind="ddpm", conditioning="time", time_mode="add", hidden=64, batch_size=128, epochs=20,
                 lr=1e-3, lr_schedule="exponential", sample_epochs=(5, 20), sample_steps=300),
    "flow": dict(kind="flow", conditioning="time", time_mode="mul", hidden=64, batch_size=64, epochs=10,
                 lr=1e-2, lr_schedule="exponential", sample_epochs=(1, 5, 10), sample_steps=50),
}
_COURSE["pure-noise"] = {**_COURSE["denoise"], "kind": "pure-noise"}
_COURSE["ddpm-class"] = {**_COURSE["ddpm"], "conditioning": "time+class"}
_COURSE["flow-class"] = {**_COURSE["flow"], "conditioning": "time+class", "sample_steps": 300}
_COURSE["flow-class-nolr"] = {**_COURSE["flow-class"], "lr_schedule": "constant", "lr": 1e-3}

# Quick: narrower nets, more passes over mnist-5k, fewer sampling steps; measured on a 2-core CPU
# (README, "Training"): each finishes in ≤ 15 minutes with recognisable digits.
_QUICK_CHANGES = {
    "denoise": dict(hidden=32, batch_size=64, epochs=5, lr=1e-3),
    "pure-noise": dict(hidden=32, batch_size=64, epochs=5, lr=1e-3),
    "ddpm": dict(hidden=32, batch_size=64, epochs=20, sample_epochs=(1, 10, 20), sample_steps=100),
    "ddpm-class": dict(hidden=32, batch_size=64, epochs=20, sample_epochs=(1, 10, 20), sample_steps=100),
    "flow": dict(hidden=32, epochs=20, sample_epochs=(1, 10, 20), sample_steps=50),
    "flow-class": dict(hidden=32, epochs=20, sample_epochs=(1, 10, 20), sample_steps=50),
    "flow-class-nolr": dict(hidden=32, epochs=20, sample_epochs=(1, 10, 20), sample_steps=50),
}


def preset_names() -> list[str]:
    return [f"{p}-{r}" for p in PRESETS for r in RECIPES]


def preset(name: str) -> TrainConfig:
    """The config of preset `name` ("course-flow-class", "quick-ddpm", …)."""
    for p in PRESETS:
        recipe = name[len(p) + 1:] if name.startswith(p + "-") else None
        if recipe in RECIPES:
            values = dict(_COURSE[recipe])
            if p == "quick":
                values.update(_QUICK_CHANGES[recipe])
            return TrainConfig(**values, preset=name)
    raise UserError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())}")


def resolve(recipe_or_preset: str, preset_kind: str = "quick", **overrides) -> TrainConfig:
    """A recipe ("flow-class") with a preset kind, or a full preset name, then the overrides."""
    name = recipe_or_preset
    if name in RECIPES:
        if preset_kind not in PRESETS:
            raise UserError(f"unknown preset {preset_kind!r}; choose course or quick")
        name = f"{preset_kind}-{name}"
    base = preset(name) if name in preset_names() else None
    if base is None:
        raise UserError(f"unknown recipe or preset {recipe_or_preset!r}; choose a recipe "
                        f"({', '.join(RECIPES)}) or a preset ({', '.join(preset_names())})")
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise UserError(f"unknown training option(s): {', '.join(unknown)}")
    if "epochs" in overrides and "sample_epochs" not in overrides:  # keep the preset's grids that still fit
        overrides["sample_epochs"] = tuple(e for e in base.sample_epochs if e <= overrides["epochs"])
    return base.replace(**overrides)


CONFIG_FIELDS = [f for f in dataclasses.fields(TrainConfig) if f.name != "preset"]
