"""Training difflab's own text-to-image model: the emoji UNet on DeepFloyd IF's path.

    for step:                                  lr = lr₀·min(1, (step + 1)/warmup)
        g = generator(seed, step)              batch, caption, dropout, shift, t and ε from one generator
        x0 = shift(emoji[idx], g)              ±`shift` px, white padding (augmentation)
        x0 = high(x0) + low(emoji[other])      from step `swaps_from`, a `low_band_swaps` share of the batch
                                               keeps its details over another emoji's low band (σ ~ U[1.5, 3])
        c = MiniLM(caption) or 0 (p_uncond)    classifier-free guidance's null prompt is the zero row
        x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε,  t ~ U{0..999} on the cosine path (spec §2.1)
        loss = ‖ε − ε_θ(x_t, t, c)‖²           (DDPM's L_simple; fixed variance at sampling)
        Adam step; EMA update with warm-up; one line of stats.jsonl; a checkpoint every N steps

The loop itself is Part B's (`loop.Trainer`: exact resume, the divergence check, a full disk,
several processes, precision); this module says what differs: the data (emoji and their captions'
MiniLM embeddings), the net, the step's batch and loss, the warm-up schedule and the exported file.
Low-band swaps: one rendering per emoji on white ties every caption to one coarse layout, and a hybrid
(spec §2.11) asks the near prompt for its details over the far prompt's layout. Trained on white for
13,650 steps, the model drew 3 % of measured hybrids; the shipped model's last steps swap the low band
of a share of the batch (README, "The emoji model", for what each step count measured). The swaps are
drawn after the step's other draws, so the steps before `swaps_from` are those of a run without them.
A run is one "epoch" of `steps` optimizer steps, each drawing its own batch from (seed, step), so
`--resume` continues bit-identically on the same machine and thread count. The run folder holds
config.json (with ``"model": "emoji"``), stats.jsonl, checkpoints/latest.safetensors, and at the
end model.safetensors (EMA weights in float16, the shipped format) and metrics.json.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from ..atomic import write_json
from ..emoji_data import load_emoji, other_low_band
from ..errors import UserError
from ..models.emoji import export_emoji_model
from ..models.emoji_unet import EmojiUNet
from ..models.minilm import MiniLMEncoder
from ..paths import deepfloyd_path
from ..runs import read_jsonl, write_config
from .ema import EMA
from .checkpoints import steps_done
from .loop import Trainer, TrainResult, new_training_run, read_run_config, reopen_run
from .parallel import Precision, check_shards, start_processes

MODEL_KIND = "emoji"


@dataclass(frozen=True)
class EmojiConfig:
    """Everything that decides an emoji training run; config.json is this plus ``"model": "emoji"``."""

    preset: str = "emoji"
    channels: tuple[int, ...] = (32, 64, 128)
    blocks: int = 1
    attention: bool = True
    image_size: int = 32
    batch_size: int = 32
    steps: int = 17650  # the shipped model (6,000 steps, then extended: README, "The emoji model")
    lr: float = 5e-4
    warmup_steps: int = 200
    p_uncond: float = 0.1
    shift: int = 2
    ema_decay: float = 0.999
    ema_warmup: bool = True
    seed: int = 0
    checkpoint_every: int = 50
    guidance: float = 7.0
    threads: int = 1
    device: str = "auto"  # a GPU when one is visible (`parallel.start_processes`)
    precision: str = "fp32"  # or bf16 / fp16 / mixed, as `difflab train --precision`
    vocabulary_size: int = 0  # train on the first this many emoji of VOCABULARY (0: all)
    low_band_swaps: float = 0.0  # the share of each batch given another emoji's low band …
    swaps_from: int = 0  # … from this step on
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        need = [(self.steps >= 1, "steps must be at least 1"), (self.batch_size >= 1, "batch_size must be ≥ 1"),
                (self.lr > 0, "lr must be positive"), (0 <= self.p_uncond < 1, "p_uncond must be in [0, 1)"),
                (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1)"), (self.shift >= 0, "shift must be ≥ 0"),
                (self.checkpoint_every >= 0, "checkpoint_every must be ≥ 0"), (self.threads >= 0, "threads ≥ 0"),
                (self.vocabulary_size >= 0, "vocabulary_size must be ≥ 0"),
                (0 <= self.low_band_swaps <= 1, "low_band_swaps must be in [0, 1]"),
                (self.swaps_from >= 0, "swaps_from must be ≥ 0"),
                (self.image_size % 2 ** (len(self.channels) - 1) == 0, "image_size must halve at every level")]
        for ok, message in need:
            if not ok:
                raise UserError(message)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["channels"] = list(self.channels)
        return {"model": MODEL_KIND, **data}

    @classmethod
    def from_dict(cls, data: dict) -> "EmojiConfig":
        data = {k: v for k, v in data.items() if k != "model"}
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise UserError(f"unknown emoji training config keys: {', '.join(unknown)}")
        if "channels" in data:
            data["channels"] = tuple(data["channels"])
        return cls(**data)

    def replace(self, **changes) -> "EmojiConfig":
        return dataclasses.replace(self, **changes)


# The shipped model: `emoji` (its steps and swaps: README, "The emoji model"). `quick-emoji`: the first 32 emoji only, on
# two threads, at 3× the learning rate after a short warm-up — measured on 900 steps (README): lr 5e-4 drew
# 10 % of its prompts recognisably, 1.5e-3 32 %, 3e-3 7 % (unstable) — for 1,600 steps (~12.5 min idle).
EMOJI_PRESETS = {
    "emoji": EmojiConfig(low_band_swaps=0.35, swaps_from=13650),
    "quick-emoji": EmojiConfig(preset="quick-emoji", steps=1600, lr=1.5e-3, warmup_steps=50, threads=2,
                               checkpoint_every=100, vocabulary_size=32),
}


def emoji_preset(name: str, **overrides) -> EmojiConfig:
    if name not in EMOJI_PRESETS:
        raise UserError(f"unknown emoji preset {name!r}; choose one of {', '.join(EMOJI_PRESETS)}")
    known = {f.name for f in dataclasses.fields(EmojiConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UserError(f"option(s) {', '.join(unknown)} do not apply to the emoji model (its presets take "
                        f"--steps, --batch-size, --lr, --p-uncond, --ema-decay, --seed, --threads, --device, "
                        f"--precision, --checkpoint-every, --guidance)")
    return EMOJI_PRESETS[name].replace(**overrides, preset=name)


def is_emoji_run(run_dir) -> bool:
    file = Path(run_dir) / "config.json"
    try:
        data = json.loads(file.read_text()) if file.is_file() else None
    except (OSError, ValueError):
        return False  # the Part B resume reports an unreadable config in its own words
    return isinstance(data, dict) and data.get("model") == MODEL_KIND


def train_emoji(config: EmojiConfig, out=None, *, quiet: bool = False, runs_root="runs",
                stop_after_steps: int | None = None) -> TrainResult:
    load_emoji(config.image_size)  # fails (one line) before any folder is made
    processes = start_processes(config.device)
    run_dir = new_training_run(processes, out, f"train-{config.preset}", config.to_dict(), runs_root)
    return EmojiTrainer(config, run_dir, quiet, stop_after_steps, processes=processes).run()


def resume_emoji(run_dir, *, quiet: bool = False, stop_after_steps: int | None = None,
                 steps: int | None = None) -> TrainResult:
    """Continue a stopped run; with `steps`, end it there instead (extend a finished run, or end a
    running one early, at no fewer steps than its last checkpoint has done).

    The learning rate is constant after warm-up and every batch is drawn from (seed, step) alone, so a
    run extended from 6,000 to 12,000 steps is bit-identical to one asked for 12,000 steps at the start.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir, EmojiConfig.from_dict)
    processes = start_processes(config.device)

    def reopen() -> EmojiConfig:
        if steps is not None and steps != config.steps:
            done = steps_done(run_dir / "checkpoints" / "latest.safetensors")
            if steps < done:
                raise UserError(f"--steps {steps} would end the run in {run_dir} before the {done} steps it has "
                                "done; give at least that many")
            write_config(run_dir, config.replace(steps=steps).to_dict(), overwrite=True)
            (run_dir / "metrics.json").unlink(missing_ok=True)  # unfinished again until the new end
        elif (run_dir / "metrics.json").is_file():
            raise UserError(f"the run in {run_dir} has already finished; nothing to resume (extend it with a "
                            f"larger --steps than its {config.steps})")
        reopen_run(run_dir)
        return config if steps is None else config.replace(steps=steps)

    config = processes.main_first(reopen)
    return EmojiTrainer(config, run_dir, quiet, stop_after_steps, resuming=True, processes=processes).run()


def build_net(cfg: EmojiConfig) -> EmojiUNet:
    return EmojiUNet(cfg.channels, blocks=cfg.blocks, image_size=cfg.image_size, attention=cfg.attention)


def caption_table(captions: tuple[tuple[str, ...], ...], encoder: MiniLMEncoder | None = None):
    """(embeddings (M, 384) of every caption, first row index of each class, caption count of each class)."""
    encoder = encoder or MiniLMEncoder()
    flat = [text for group in captions for text in group]
    starts, counts, at = [], [], 0
    for group in captions:
        starts.append(at)
        counts.append(len(group))
        at += len(group)
    return encoder(flat), torch.tensor(starts), torch.tensor(counts)


def shift_batch(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Move each image by (dy, dx) ~ U{−s..s}², filling the uncovered border with white (1.0)."""
    if max_shift == 0:
        return x
    offsets = torch.randint(0, 2 * max_shift + 1, (x.shape[0], 2), generator=g, device=g.device).tolist()
    padded = F.pad(x, (max_shift,) * 4, value=1.0)
    h, w = x.shape[-2:]
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets)])


class EmojiTrainer(Trainer):
    """Part B's loop (`loop.Trainer`) on the emoji data, net, batch and file."""

    def __init__(self, cfg: EmojiConfig, run_dir: Path, quiet: bool, stop_after: int | None, resuming=False,
                 processes=None):
        self.cfg, self.run_dir, self.quiet, self.stop_after = cfg, run_dir, quiet, stop_after
        self.procs = processes or start_processes(cfg.device)
        self.device, self.main = self.procs.device, self.procs.is_main
        self.precision = Precision(cfg.precision, self.device)
        data = load_emoji(cfg.image_size)
        keep = cfg.vocabulary_size or len(data)
        self.images = data.images[:keep].to(self.device)
        self.chars, self.captions = data.chars[:keep], data.captions[:keep]
        self.embeddings, self.starts, self.counts = (v.to(self.device) for v in caption_table(self.captions))
        self.path = deepfloyd_path()
        self.abar = self.path.alphas_cumprod.float().to(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = build_net(cfg).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.ema = EMA(self.net, cfg.ema_decay, cfg.ema_warmup) if cfg.ema_decay > 0 and self.main else None
        # an extension (a larger --steps) only moves the end; a key added since (with its default) is the same
        self.restore(resuming, self.continues)
        self.pos.epoch, self.pos.batch = 0, self.pos.step  # the step alone places a run (and extends a finished one)
        check_shards(cfg.batch_size, cfg.batch_size, self.procs.world)

    def continues(self, saved: dict) -> bool:
        """Whether a checkpoint's config leads to this one: they may differ only in what the steps after
        it use — the end (an extension), and low-band swaps added from the checkpoint's step or later."""
        old = EmojiConfig.from_dict(saved).replace(steps=self.cfg.steps)
        if old.low_band_swaps == 0 and self.cfg.swaps_from >= self.pos.step:
            old = old.replace(low_band_swaps=self.cfg.low_band_swaps, swaps_from=self.cfg.swaps_from)
        return old == self.cfg

    def schedule(self) -> tuple[int, int]:
        return 1, self.cfg.steps

    def epoch_order(self, epoch: int) -> None:
        return None  # every step draws its batch from its own generator

    def lr_at(self, epoch: int, step: int) -> float:
        return self.cfg.lr * min(1.0, (step + 1) / max(self.cfg.warmup_steps, 1))

    def batch(self, g: torch.Generator, size: int):
        """(x0, t, text rows, ε) of a step, all drawn from its generator `g` in a fixed order."""
        cfg = self.cfg
        idx = torch.randint(0, len(self.images), (size,), generator=g, device=g.device)
        pick = (torch.rand(size, generator=g, device=g.device) * self.counts[idx]).long()
        keep = torch.rand(size, generator=g, device=g.device) >= cfg.p_uncond
        text = self.embeddings[self.starts[idx] + pick] * keep[:, None]
        x0 = shift_batch(self.images[idx], cfg.shift, g)
        t = torch.randint(0, self.path.num_train_steps, (size,), generator=g, device=g.device)
        noise = torch.randn(x0.shape, generator=g, device=g.device)
        if cfg.low_band_swaps and self.pos.step >= cfg.swaps_from:
            x0 = other_low_band(x0, self.images, cfg.low_band_swaps, g)
        return x0, t, text, noise

    def step_loss(self, index, size: int, rows: slice, g: torch.Generator) -> torch.Tensor:
        x0, t, text, noise = (v[rows] for v in self.batch(g, size))
        a = self.abar[t].view(-1, 1, 1, 1)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise  # spec eq. A.2 on IF's cosine path
        return F.mse_loss(self.model(x_t, t, text), noise)

    def write_epoch(self, epoch: int) -> None:
        pass  # no per-epoch records: the run is one epoch; `scripts/emoji_metrics.py` measures snapshots

    def _images_seen(self) -> int:
        return self.pos.step * self.cfg.batch_size

    def finish(self) -> TrainResult:
        if not self.main:
            return TrainResult(self.run_dir, None, {}, main=False)
        lines = read_jsonl(self.run_dir / "stats.jsonl", "step")[-100:]
        metrics = {**self.run_metrics(), "final_train_loss": sum(r["loss"] for r in lines) / max(len(lines), 1),
                   "weights": "ema" if self.ema else "raw"}
        net = self.ema.net if self.ema is not None else self.net
        model_file = export_emoji_model(self.run_dir / "model.safetensors", net, self.cfg, self.chars,
                                        self.captions, {"train_config": self.cfg.to_dict(), "metrics": metrics})
        write_json(self.run_dir / "metrics.json", metrics, overwrite=True)
        return TrainResult(self.run_dir, model_file, metrics)
