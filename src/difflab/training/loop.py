"""The one training loop: Part B's single-step denoisers, DDPM and flow matching, and (through the
hooks `schedule`, `epoch_order`, `lr_at`, `step_loss`, `write_epoch`, `finish`) the emoji model.

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
count (CPU; CUDA kernels are not bitwise deterministic across runs). The generators live on the
run's device, so a GPU shuffles and draws noise without a copy from the host.

Several processes (`parallel`): each draws the same global batch and trains on its shard, and
only the main process writes (logs, EMA, grids, checkpoints); a resumed process needs nothing but
the position, since all its randomness derives from (seed, epoch) and (seed, step).
(This module is longer than 300 lines because the loop reads best as one piece; its logs,
processes and figures already live elsewhere.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import __version__
from ..atomic import append_jsonl, clean_temporaries, write_json
from ..data import load_dataset
from ..errors import UserError, WriteError
from ..models.unet import CourseUNet, count_parameters
from ..paths import FlowPath, course_ddpm_path
from ..runs import new_run_dir, read_json, read_jsonl, resumable, write_config
from . import objectives
from .checkpoints import Position, load_train_state, save_train_state, truncate_logs
from .config import TrainConfig
from .ema import EMA
from .logs import GPU_LOG_EVERY, StepLog
from .outputs import export_model, model_spec, save_epoch_outputs, save_loss_curve
from .parallel import Precision, Processes, check_shards, shard, start_processes
from .partb import save_final_figures

STREAM_DATA, STREAM_STEP, STREAM_TEST = 0, 1, 2


def derived_seed(seed: int, stream: int, index: int) -> int:
    """A well-mixed 63-bit seed for draw `index` of random stream `stream` of a run."""
    state = np.random.SeedSequence([seed, stream, index]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def generator(seed: int, stream: int, index: int, device="cpu") -> torch.Generator:
    return torch.Generator(device).manual_seed(derived_seed(seed, stream, index))


class TrainingInterrupted(Exception):
    """Raised by the `stop_after_steps` hook: the run stops as if killed (nothing more is written)."""


@dataclass
class TrainResult:
    run_dir: Path
    model_file: Path | None
    metrics: dict
    main: bool = True   # False in the other processes of a multi-process run, which write nothing


def train(config: TrainConfig, out=None, *, quiet: bool = False, runs_root="runs",
          stop_after_steps: int | None = None) -> TrainResult:
    """Train `config` into a fresh run folder (`out`, or runs/train-<preset>-<time>)."""
    data, processes = _prepare(config)  # fails (one line) before any folder is made
    run_dir = new_training_run(processes, out, f"train-{config.preset or config.kind}", config.to_dict(), runs_root)
    return Trainer(config, run_dir, data, quiet, stop_after_steps, processes=processes).run()


def new_training_run(processes: Processes, out, prefix: str, config: dict, runs_root) -> Path:
    """A fresh run folder with its config.json, made by the main process; kept if the run fails later."""
    def make() -> Path:
        run_dir = new_run_dir(out, prefix, runs_root)
        write_config(run_dir, config)
        resumable(run_dir)  # from here on a failure keeps the folder: its checkpoint and logs resume
        return run_dir
    return processes.main_first(make)


def read_run_config(run_dir: Path, from_dict):
    """A run folder's config.json through `from_dict`; one line naming the file when it is not one."""
    try:
        return from_dict(read_json(run_dir / "config.json", "training config"))
    except UserError as err:
        raise UserError(f"{run_dir / 'config.json'}: {err}") from None


def reopen_run(run_dir: Path) -> None:
    """Before a resume (main process): remove what writes killed mid-way left; keep the folder on failure."""
    for folder in (run_dir, run_dir / "checkpoints"):
        clean_temporaries(folder, everything=True)
    resumable(run_dir)


def resume(run_dir, *, quiet: bool = False, stop_after_steps: int | None = None) -> TrainResult:
    """Continue the run in `run_dir` from its last checkpoint (or from the start if it has none)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} is not a training run folder (no config.json)")
    if (run_dir / "metrics.json").is_file():
        raise UserError(f"the run in {run_dir} has already finished; nothing to resume")
    config = read_run_config(run_dir, TrainConfig.from_dict)
    data, processes = _prepare(config)
    if processes.is_main:
        reopen_run(run_dir)
    return Trainer(config, run_dir, data, quiet, stop_after_steps, resuming=True, processes=processes).run()


def _prepare(cfg: TrainConfig):
    """(train and test data, the processes): what fails here fails alike in every process."""
    data = (load_dataset(cfg.dataset, "train", cfg.data_root, cfg.download),
            load_dataset(cfg.dataset, "test", cfg.data_root, cfg.download))
    processes = start_processes(cfg.device)
    check_shards(min(cfg.train_images or len(data[0]), len(data[0])), cfg.batch_size, processes.world)
    return data, processes


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, data, quiet: bool, stop_after_steps: int | None,
                 resuming: bool = False, processes: Processes | None = None):
        self.cfg, self.run_dir, self.quiet, self.stop_after = cfg, run_dir, quiet, stop_after_steps
        self.procs = processes or start_processes(cfg.device)
        self.device, self.main = self.procs.device, self.procs.is_main
        self.precision = Precision(cfg.precision, self.device)
        train, test = data
        keep = cfg.train_images or len(train)
        self.images = self._layout(train.images[:keep].to(self.device))
        self.labels = train.labels[:keep].to(self.device)
        keep = max(cfg.test_images, 5)  # the figures use the first 5 test digits
        self.test_images, self.test_labels = test.images[:keep], test.labels[:keep]
        self.class_names = train.class_names
        with torch.random.fork_rng(devices=[]):  # initial weights from the run's seed, global RNG untouched
            torch.manual_seed(cfg.seed)
            self.net = CourseUNet(hidden=cfg.hidden, conditioning=cfg.conditioning, time_mode=cfg.time_mode,
                                  num_classes=len(self.class_names)).to(self.device)
        self.net = self._layout(self.net)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.ema = EMA(self.net, cfg.ema_decay, cfg.ema_warmup) if cfg.ema_decay > 0 and self.main else None
        self.path = (course_ddpm_path(cfg.num_train_steps, cfg.beta_start, cfg.beta_end) if cfg.kind == "ddpm"
                     else FlowPath())
        self.spec = model_spec(cfg, self.net, self.class_names, cfg.export_weights)
        self.restore(resuming, lambda saved: TrainConfig.from_dict(saved) == cfg)
        if cfg.compile:
            self.model = torch.compile(self.model)

    def restore(self, resuming: bool, same_config) -> None:
        """The position (and weights, EMA, Adam and scaler state) of the last checkpoint when resuming,
        if `same_config(its config dict)`; every process must find the same one. Then wrap the net."""
        self.pos = Position()
        self.latest = self.run_dir / "checkpoints" / "latest.safetensors"
        if resuming and self.latest.is_file():
            self.pos, saved = load_train_state(self.latest, self.net, self.ema and self.ema.net, self.optimizer)
            if not same_config(saved):
                raise UserError(f"{self.latest} was written with a different config than "
                                f"{self.run_dir}/config.json")
            self.precision.load_state(self.pos.scaler)
        if not self.procs.agree(self.pos.step):
            raise UserError(f"the processes found different checkpoints in {self.run_dir}: it must be on a "
                            "filesystem that every node sees")
        if resuming and self.main:
            truncate_logs(self.run_dir, self.pos)
        self.model = self.procs.wrap(self.net)  # what trains: the net, or the net inside DDP

    def _layout(self, tensor_or_net):
        return tensor_or_net.to(memory_format=torch.channels_last) if self.cfg.channels_last else tensor_or_net

    # ---------------------------------------------------------------- the loop
    def run(self) -> TrainResult:
        cfg, pos = self.cfg, self.pos
        epochs, per_epoch = self.schedule()
        threads = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.started = time.perf_counter() - pos.elapsed_s
        bar = tqdm(total=epochs * per_epoch, initial=pos.step, disable=self.quiet or not self.main,
                   unit="step", desc=cfg.preset or cfg.kind, dynamic_ncols=True)
        every = 1 if self.device.type == "cpu" else GPU_LOG_EVERY
        self.log = StepLog(self.run_dir / "stats.jsonl" if self.main else None, every, self.procs.mean,
                           f"lower --lr and train again (the last checkpoint in {self.run_dir} holds the weights "
                           "before it)")
        self.bar = bar
        try:
            for epoch in range(pos.epoch, epochs):
                order = self.epoch_order(epoch)
                self.loop_start, self.loop_images = time.perf_counter(), 0
                self.log.restart_clock()
                for b in range(pos.batch, per_epoch):
                    lr = self.lr_at(epoch, pos.step)
                    for group in self.optimizer.param_groups:
                        group["lr"] = lr
                    index = None if order is None else order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                    size = cfg.batch_size if index is None else len(index)
                    loss = self.train_step(index, size)
                    pos.step, pos.batch = pos.step + 1, b + 1
                    self.loop_images += size
                    self.logged(self.log.add(pos.step, epoch + 1, loss, lr, size))
                    bar.update()
                    if cfg.checkpoint_every and pos.step % cfg.checkpoint_every == 0:
                        self.save()
                    if self.stop_after is not None and pos.step >= self.stop_after:
                        self.logged(self.log.flush())
                        raise TrainingInterrupted(f"stopped after {pos.step} steps")
                self.end_epoch(epoch)
            bar.close()
            result = self.finish()
            self.procs.close()
            return result
        except (OSError, WriteError) as err:  # a full disk: the checkpoint and logs hold what completed
            reason = err.strerror if isinstance(err, OSError) else str(err)
            raise WriteError(f"{reason}; free space and continue with `difflab train --resume {self.run_dir}`"
                             ) from None
        finally:
            bar.close()
            self.log.close()
            torch.set_num_threads(threads)

    def logged(self, flushed) -> None:
        """Account the seconds of the log lines just written; show the latest loss."""
        if flushed is not None:
            seconds, loss = flushed
            self.pos.train_s += seconds
            self.bar.set_postfix(epoch=self.pos.epoch + 1, loss=f"{loss:.4f}", refresh=False)

    # ---------------------------------------------------------------- what a kind of run decides
    def schedule(self) -> tuple[int, int]:
        """(epochs, optimizer steps in each)."""
        return self.cfg.epochs, math.ceil(len(self.images) / self.cfg.batch_size)

    def epoch_order(self, epoch: int) -> torch.Tensor | None:
        """The epoch's data order (None: each step draws its own batch in `step_loss`)."""
        return torch.randperm(len(self.images), generator=generator(self.cfg.seed, STREAM_DATA, epoch, self.device),
                              device=self.device)

    def lr_at(self, epoch: int, step: int) -> float:
        return self.cfg.lr_at(epoch)

    def step_loss(self, index: torch.Tensor | None, size: int, rows: slice, g: torch.Generator) -> torch.Tensor:
        """The loss on rows `rows` of the global batch `index` of `size` images, drawing from `g`."""
        mine = index[rows]
        return self.loss(self.model, self.images[mine], self.labels[mine], g, self.cfg.p_uncond, size, rows)

    # ---------------------------------------------------------------- one step
    def train_step(self, index: torch.Tensor | None, size: int) -> torch.Tensor:
        """One Adam step on the global batch `index` of `size` images (this process trains on its shard).

        Noise, t and class dropout come from this step's own generator; returns the global
        batch's loss, detached, on the device (reading it would wait for the device).
        """
        rows = shard(size, self.procs.rank, self.procs.world)
        self.model.train()
        g = generator(self.cfg.seed, STREAM_STEP, self.pos.step, self.device)
        with self.precision.autocast():
            loss = self.step_loss(index, size, rows, g)
        if self.procs.world > 1:  # the mean of the processes' gradients is that of the global mean loss
            loss = loss * (self.procs.world * (rows.stop - rows.start) / size)
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.backward_and_step(loss, self.optimizer)
        if self.ema is not None:
            self.ema.update(self.net, self.pos.step)
        return loss.detach()

    def loss(self, net, x, labels, g: torch.Generator, p_uncond: float, batch: int | None = None,
             rows: slice = slice(None)) -> torch.Tensor:
        """The objective of the run's kind on `x`, rows `rows` of a batch of `batch` (spec B.1–B.5).

        The draws are made for the whole batch in a fixed order (noise, t, class dropout), so a
        shard sees exactly the numbers its rows see in one process.
        """
        cfg, n = self.cfg, batch or x.shape[0]
        noise = self._layout(torch.randn((n, *x.shape[1:]), generator=g, device=g.device)[rows])
        x = self._layout(x)
        if cfg.kind == "denoise":
            return objectives.denoise_loss(net, x, noise, cfg.sigma)
        if cfg.kind == "pure-noise":
            return objectives.pure_noise_loss(net, x, noise)
        if cfg.kind == "ddpm":
            t = torch.randint(1, cfg.num_train_steps + 1, (n,), generator=g, device=g.device)[rows]  # U{1, …, T}
        else:
            t = torch.rand(n, generator=g, device=g.device)[rows]                                  # U[0, 1]
        c = None
        if cfg.class_conditioned:
            keep = objectives.class_dropout(n, p_uncond, g)[rows]
            c = objectives.one_hot_rows(labels, len(self.class_names), keep)
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
        loss = self.loss(net, x, labels, generator(self.cfg.seed, STREAM_TEST, 0, self.device), 0.0).item()
        net.train(was_training)
        return loss

    def nets(self, final: bool) -> dict:
        if self.ema is None:
            return {"raw": self.net}
        return {"ema": self.ema.net, "raw": self.net} if final else {"ema": self.ema.net}

    def end_epoch(self, epoch: int) -> None:
        self.logged(self.log.flush())
        if self.main:
            self.write_epoch(epoch)
        self.pos.epoch, self.pos.batch = epoch + 1, 0
        self.save()

    def write_epoch(self, epoch: int) -> None:
        """The main process's records of an epoch: test losses, grids, snapshot, epochs.jsonl, loss.png."""
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
        self.log.sync_to_disk()
        losses = [r["loss"] for r in read_jsonl(self.run_dir / "stats.jsonl", "step") if r.get("epoch") == done]
        record.update(train_loss=sum(losses) / max(len(losses), 1), elapsed_s=round(self.elapsed(), 2),
                      train_img_per_s=round(self._images_seen() / max(pos.train_s, 1e-9), 2),
                      loop_img_per_s=round(self.loop_images / max(loop_s, 1e-9), 2))
        append_jsonl(self.run_dir / "epochs.jsonl", record)
        save_loss_curve(self.run_dir, f"{cfg.preset or cfg.kind}: training loss")

    def save(self) -> None:
        """The checkpoint of the current position, written by the main process (atomically)."""
        self.logged(self.log.flush())
        if self.main:
            self.log.sync_to_disk()
            self.pos.elapsed_s = self.elapsed()
            self.pos.scaler = self.precision.state()
            save_train_state(self.latest, self.net, self.ema and self.ema.net, self.optimizer, self.pos,
                             self.cfg.to_dict())
        self.log.restart_clock()

    def finish(self) -> TrainResult:
        if not self.main:
            return TrainResult(self.run_dir, None, {}, main=False)
        cfg = self.cfg
        epochs = read_jsonl(self.run_dir / "epochs.jsonl", "epoch")
        metrics = {**self.run_metrics(), "epochs": cfg.epochs, "final_train_loss": epochs[-1]["train_loss"],
                   **{k: v for k, v in epochs[-1].items() if k.startswith("test_loss")},
                   "weights": cfg.export_weights}
        metrics.update(save_final_figures(self.run_dir / "figures", cfg.kind, self.exported(), self.test_images,
                                          self.images.cpu(), cfg.sample_seed))
        records = {"train_config": cfg.to_dict(), "metrics": metrics}
        model_file = export_model(self.run_dir / "model.safetensors", self.exported(), self.spec, records)
        if self.ema is not None and cfg.export_weights == "ema":
            raw_spec = model_spec(cfg, self.net, self.class_names, "raw")
            export_model(self.run_dir / "model-raw.safetensors", self.net, raw_spec, records)
        write_json(self.run_dir / "metrics.json", metrics, overwrite=True)
        return TrainResult(self.run_dir, model_file, metrics)

    # ---------------------------------------------------------------- helpers
    def run_metrics(self) -> dict:
        """What every finished run records of how it trained (its kind adds losses and weights)."""
        seen = self._images_seen()
        return {"steps": self.pos.step, "images_seen": seen, "wall_time_s": round(self.elapsed(), 1),
                "train_time_s": round(self.pos.train_s, 1),
                "train_img_per_s": round(seen / max(self.pos.train_s, 1e-9), 1),
                "parameters": count_parameters(self.net), "device": str(self.device), "processes": self.procs.world,
                "precision": self.precision.name, "threads": self.cfg.threads or torch.get_num_threads(),
                "difflab": __version__, "torch": torch.__version__}

    def exported(self):
        return self.ema.net if self.ema is not None and self.cfg.export_weights == "ema" else self.net

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _images_seen(self) -> int:
        n, per_epoch = len(self.images), math.ceil(len(self.images) / self.cfg.batch_size)
        full, rest = divmod(self.pos.step, per_epoch)
        return full * n + min(rest * self.cfg.batch_size, n)
