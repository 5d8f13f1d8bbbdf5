"""The one training loop of Part B: single-step denoisers, DDPM and flow matching alike.

    for epoch:                                   lr = lr₀·γ^epoch (ExponentialLR, pitfall 23)
        order = permutation(seed, epoch)         data order from its own generator
        for batch in order:
            g = generator(seed, step)            fresh noise, t and class dropout (pitfall 16)
            loss = objective(net, batch, g)      `objectives` (spec B.1–B.5)
            Adam step; EMA update; one line of stats.jsonl
        test loss (raw and EMA); sample grids at the chosen epochs; checkpoint

Reproducibility: every random draw comes from a generator seeded by (seed, epoch) or (seed, step)
through NumPy's SeedSequence, never from the global RNG, and a checkpoint records the exact
position (epoch, batch, step). A run killed at any moment and resumed from its last checkpoint
therefore ends with weights bit-identical to an uninterrupted run on the same machine and thread
count (CPU; CUDA kernels are not bitwise deterministic across runs).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import __version__
from ..atomic import append_jsonl, atomic_write, write_json
from ..data import load_dataset
from ..errors import UserError
from ..models.unet import CourseUNet, count_parameters
from ..paths import FlowPath, course_ddpm_path
from ..runs import new_run_dir, write_config
from . import objectives
from .checkpoints import Position, load_train_state, save_train_state
from .config import TrainConfig
from .ema import EMA
from .outputs import export_model, model_spec, save_epoch_outputs, save_loss_curve
from .partb import pure_noise_vs_mean, save_mean_comparison, save_noising_grid, save_ood_sweep

STREAM_DATA, STREAM_STEP, STREAM_TEST = 0, 1, 2


def derived_seed(seed: int, stream: int, index: int) -> int:
    """A well-mixed 63-bit seed for draw `index` of random stream `stream` of a run."""
    state = np.random.SeedSequence([seed, stream, index]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def generator(seed: int, stream: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(seed, stream, index))


class TrainingInterrupted(Exception):
    """Raised by the `stop_after_steps` hook: the run stops as if killed (nothing more is written)."""


@dataclass
class TrainResult:
    run_dir: Path
    model_file: Path
    metrics: dict


def train(config: TrainConfig, out=None, *, quiet: bool = False, runs_root="runs",
          stop_after_steps: int | None = None) -> TrainResult:
    """Train `config` into a fresh run folder (`out`, or runs/train-<preset>-<time>)."""
    data = _load_data(config)  # fails (one line) before any folder is made
    run_dir = new_run_dir(out, f"train-{config.preset or config.kind}", runs_root)
    write_config(run_dir, config.to_dict())
    return Trainer(config, run_dir, data, quiet, stop_after_steps).run()


def resume(run_dir, *, quiet: bool = False, stop_after_steps: int | None = None) -> TrainResult:
    """Continue the run in `run_dir` from its last checkpoint (or from the start if it has none)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} is not a training run folder (no config.json)")
    if (run_dir / "metrics.json").is_file():
        raise UserError(f"the run in {run_dir} has already finished; nothing to resume")
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    return Trainer(config, run_dir, _load_data(config), quiet, stop_after_steps, resuming=True).run()


def _load_data(cfg: TrainConfig):
    return (load_dataset(cfg.dataset, "train", cfg.data_root, cfg.download),
            load_dataset(cfg.dataset, "test", cfg.data_root, cfg.download))


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, data, quiet: bool, stop_after_steps: int | None,
                 resuming: bool = False):
        self.cfg, self.run_dir, self.quiet, self.stop_after = cfg, run_dir, quiet, stop_after_steps
        self.device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                                   "cpu" if cfg.device == "auto" else cfg.device)
        train, test = data
        keep = cfg.train_images or len(train)
        self.images, self.labels = train.images[:keep].to(self.device), train.labels[:keep].to(self.device)
        keep = max(cfg.test_images, 5)  # the figures use the first 5 test digits
        self.test_images, self.test_labels = test.images[:keep], test.labels[:keep]
        self.class_names = train.class_names
        with torch.random.fork_rng(devices=[]):  # initial weights from the run's seed, global RNG untouched
            torch.manual_seed(cfg.seed)
            self.net = CourseUNet(hidden=cfg.hidden, conditioning=cfg.conditioning, time_mode=cfg.time_mode,
                                  num_classes=len(self.class_names)).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.ema = EMA(self.net, cfg.ema_decay, cfg.ema_warmup) if cfg.ema_decay > 0 else None
        self.path = (course_ddpm_path(cfg.num_train_steps, cfg.beta_start, cfg.beta_end) if cfg.kind == "ddpm"
                     else FlowPath())
        self.spec = model_spec(cfg, self.net, self.class_names, cfg.export_weights)
        self.pos = Position()
        self.latest = run_dir / "checkpoints" / "latest.safetensors"
        if resuming and self.latest.is_file():
            self.pos, saved = load_train_state(self.latest, self.net, self.ema and self.ema.net, self.optimizer)
            if saved != cfg.to_dict():
                raise UserError(f"{self.latest} was written with a different config than {run_dir}/config.json")
        if resuming:
            self._truncate_logs()

    # ---------------------------------------------------------------- the loop
    def run(self) -> TrainResult:
        cfg, pos = self.cfg, self.pos
        n = len(self.images)
        per_epoch = math.ceil(n / cfg.batch_size)
        threads = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.started = time.perf_counter() - pos.elapsed_s
        bar = tqdm(total=cfg.epochs * per_epoch, initial=pos.step, disable=self.quiet, unit="step",
                   desc=cfg.preset or cfg.kind, dynamic_ncols=True)
        self.stats = open(self.run_dir / "stats.jsonl", "a", encoding="utf-8", buffering=1)
        try:
            for epoch in range(pos.epoch, cfg.epochs):
                lr = cfg.lr_at(epoch)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                order = torch.randperm(n, generator=generator(cfg.seed, STREAM_DATA, epoch))
                self.loop_start, self.loop_images = time.perf_counter(), 0
                for b in range(pos.batch, per_epoch):
                    index = order[b * cfg.batch_size:(b + 1) * cfg.batch_size].to(self.device)
                    tick = time.perf_counter()
                    loss = self.train_step(self.images[index], self.labels[index])
                    seconds = time.perf_counter() - tick
                    pos.step, pos.batch, pos.train_s = pos.step + 1, b + 1, pos.train_s + seconds
                    self.loop_images += len(index)
                    self.stats.write(json.dumps({"step": pos.step, "epoch": epoch + 1, "loss": loss, "lr": lr,
                                                 "img_per_s": round(len(index) / seconds, 2)}) + "\n")
                    bar.update()
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}", refresh=False)
                    if cfg.checkpoint_every and pos.step % cfg.checkpoint_every == 0:
                        self.save()
                    if self.stop_after is not None and pos.step >= self.stop_after:
                        raise TrainingInterrupted(f"stopped after {pos.step} steps")
                self.end_epoch(epoch)
            bar.close()
            return self.finish()
        finally:
            bar.close()
            self.stats.close()
            torch.set_num_threads(threads)

    def train_step(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        """One Adam step on a batch; noise, t and class dropout from this step's own generator."""
        self.net.train()
        loss = self.loss(self.net, x, labels, generator(self.cfg.seed, STREAM_STEP, self.pos.step), self.cfg.p_uncond)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.net, self.pos.step)
        return loss.item()

    def loss(self, net, x, labels, g: torch.Generator, p_uncond: float) -> torch.Tensor:
        """The objective of the run's kind on one batch (spec B.1–B.5), draws in a fixed order."""
        cfg, n = self.cfg, x.shape[0]
        noise = torch.randn(x.shape, generator=g).to(self.device)
        if cfg.kind == "denoise":
            return objectives.denoise_loss(net, x, noise, cfg.sigma)
        if cfg.kind == "pure-noise":
            return objectives.pure_noise_loss(net, x, noise)
        if cfg.kind == "ddpm":
            t = torch.randint(1, cfg.num_train_steps + 1, (n,), generator=g)  # t ~ U{1, …, T}
        else:
            t = torch.rand(n, generator=g)                                      # t ~ U[0, 1]
        c = objectives.class_condition(labels, len(self.class_names), p_uncond, g) if cfg.class_conditioned else None
        if cfg.kind == "ddpm":
            return objectives.ddpm_loss(net, self.path, x, t.to(self.device), noise, c)
        return objectives.flow_loss(net, self.path, x, noise, t.to(self.device), c)

    # ---------------------------------------------------------------- epochs, checkpoints, the end
    @torch.no_grad()
    def test_loss(self, net) -> float | None:
        """The objective on the first `test_images` test digits with fixed noise (no class dropout)."""
        if not self.cfg.test_images:
            return None
        was_training = net.training
        net.eval()
        x = self.test_images[:self.cfg.test_images].to(self.device)
        labels = self.test_labels[:self.cfg.test_images].to(self.device)
        loss = self.loss(net, x, labels, generator(self.cfg.seed, STREAM_TEST, 0), 0.0).item()
        net.train(was_training)
        return loss

    def nets(self, final: bool) -> dict:
        if self.ema is None:
            return {"raw": self.net}
        return {"ema": self.ema.net, "raw": self.net} if final else {"ema": self.ema.net}

    def end_epoch(self, epoch: int) -> None:
        cfg, pos, done = self.cfg, self.pos, epoch + 1
        loop_s = time.perf_counter() - self.loop_start  # the batch loop alone, every per-step cost included
        final = done == cfg.epochs
        record = {"epoch": done, "step": pos.step, "lr": cfg.lr_at(epoch),
                  **{f"test_loss_{k}": self.test_loss(net) for k, net in self.nets(final=True).items()}}
        if done in cfg.sample_epochs or final:
            save_epoch_outputs(self.run_dir, done, self.nets(final), cfg, self.spec, self.test_images,
                               self.device, self.quiet)
        if done in cfg.sample_epochs:
            export_model(self.run_dir / "checkpoints" / f"epoch-{done:03d}.safetensors", self.exported(),
                         self.spec, {"epoch": done, "train_config": cfg.to_dict()})
        losses = [json.loads(line)["loss"] for line in self._stat_lines() if json.loads(line)["epoch"] == done]
        record.update(train_loss=sum(losses) / max(len(losses), 1), elapsed_s=round(self.elapsed(), 2),
                      train_img_per_s=round(self._images_seen() / max(pos.train_s, 1e-9), 2),
                      loop_img_per_s=round(self.loop_images / max(loop_s, 1e-9), 2))
        append_jsonl(self.run_dir / "epochs.jsonl", record)
        save_loss_curve(self.run_dir, f"{cfg.preset or cfg.kind}: training loss")
        pos.epoch, pos.batch = done, 0
        self.save()

    def save(self) -> None:
        self.stats.flush()
        os.fsync(self.stats.fileno())
        self.pos.elapsed_s = self.elapsed()
        save_train_state(self.latest, self.net, self.ema and self.ema.net, self.optimizer, self.pos,
                         self.cfg.to_dict())

    def finish(self) -> TrainResult:
        cfg = self.cfg
        epochs = [json.loads(line) for line in (self.run_dir / "epochs.jsonl").read_text().splitlines()]
        metrics = {"steps": self.pos.step, "epochs": cfg.epochs, "images_seen": self._images_seen(),
                   "final_train_loss": epochs[-1]["train_loss"],
                   **{k: v for k, v in epochs[-1].items() if k.startswith("test_loss")},
                   "wall_time_s": round(self.elapsed(), 1), "train_time_s": round(self.pos.train_s, 1),
                   "train_img_per_s": round(self._images_seen() / max(self.pos.train_s, 1e-9), 1),
                   "parameters": count_parameters(self.net), "weights": cfg.export_weights,
                   "device": str(self.device), "threads": cfg.threads or torch.get_num_threads(),
                   "difflab": __version__, "torch": torch.__version__}
        figures = self.run_dir / "figures"
        if cfg.kind == "denoise":
            save_noising_grid(self.test_images[:5], figures / "noising-grid.png", cfg.sample_seed, overwrite=True)
            save_ood_sweep(self.exported(), self.test_images[0], figures / "ood-sweep.png", cfg.sample_seed,
                           overwrite=True)
        if cfg.kind == "pure-noise":
            comparison = pure_noise_vs_mean(self.exported(), self.images.cpu(), 10, cfg.sample_seed)
            save_mean_comparison(comparison, figures / "pure-noise-vs-mean.png", overwrite=True)
            metrics.update(output_to_mean_rms=comparison.output_to_mean, digit_to_mean_rms=comparison.digit_to_mean,
                           output_spread_rms=comparison.output_spread)
        records = {"train_config": cfg.to_dict(), "metrics": metrics}
        model_file = export_model(self.run_dir / "model.safetensors", self.exported(), self.spec, records)
        if self.ema is not None and cfg.export_weights == "ema":
            raw_spec = model_spec(cfg, self.net, self.class_names, "raw")
            export_model(self.run_dir / "model-raw.safetensors", self.net, raw_spec, records)
        write_json(self.run_dir / "metrics.json", metrics, overwrite=True)
        return TrainResult(self.run_dir, model_file, metrics)

    # ---------------------------------------------------------------- helpers
    def exported(self):
        return self.ema.net if self.ema is not None and self.cfg.export_weights == "ema" else self.net

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _images_seen(self) -> int:
        n, per_epoch = len(self.images), math.ceil(len(self.images) / self.cfg.batch_size)
        full, rest = divmod(self.pos.step, per_epoch)
        return full * n + min(rest * self.cfg.batch_size, n)

    def _stat_lines(self) -> list[str]:
        self.stats.flush()
        return (self.run_dir / "stats.jsonl").read_text().splitlines()

    def _truncate_logs(self) -> None:
        """Drop log lines written after the checkpoint we resume from (and a torn last line)."""
        for name, key, limit in (("stats.jsonl", "step", self.pos.step), ("epochs.jsonl", "epoch", self.pos.epoch)):
            path = self.run_dir / name
            if not path.is_file():
                continue
            kept = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    if json.loads(line)[key] <= limit:
                        kept.append(line + "\n")
                except (ValueError, KeyError):
                    break  # a line torn by the kill: everything after it is newer still
            with atomic_write(path, overwrite=True, mode="w") as handle:
                handle.writelines(kept)
