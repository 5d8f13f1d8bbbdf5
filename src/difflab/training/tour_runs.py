"""The Part B runs `difflab tour --train` trains, and the rule that trains, resumes or reuses one.

By default the tour draws Part B from runs shipped as snapshots (weights/partb); with --train it
trains the course presets instead (hours on a CPU). Every run sits in one folder kept across tours:
`ensure_trained` finds it done, resumes it after an interrupt, or starts it over when its settings
changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from .config import TrainConfig, resolve
from .loop import resume, train

# Threads of the tour's sampling: on a shared 2-core CPU two torch threads contend (up to 10× slower, measured).
THREADS = 1
# --train: a better time-only model for B-BW (the course's flow, wider and longer).
BETTER_TIME_ONLY = dict(hidden=128, epochs=20, sample_epochs=(1, 10, 20))


def run_config(recipe: str, dataset: str, seed: int, **overrides) -> TrainConfig:
    """The course preset of `recipe` on `dataset`, with the tour's seed (and any `overrides`)."""
    return resolve(recipe, "course", dataset=dataset, seed=seed, sample_seed=seed, **overrides)


def ensure_trained(folder: Path, cfg: TrainConfig, log: Callable[[str], None] = print,
                   quiet: bool = True) -> Path:
    """`folder` holding a finished run of `cfg`: found done, resumed after an interrupt, or trained anew."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "config.json"
    if saved.is_file() and TrainConfig.from_dict(json.loads(saved.read_text())) != cfg:  # new fields: defaults
        _empty(folder)  # settings changed since: start over
    if (folder / "metrics.json").is_file():
        log(f"tour: {folder.name}: training already finished in {folder}")
    elif saved.is_file():
        log(f"tour: {folder.name}: resuming the training run in {folder}")
        resume(folder, quiet=quiet)
    else:
        log(f"tour: {folder.name}: training ({recipe_text(cfg)}) into {folder}")
        _empty(folder)
        train(cfg, out=folder, quiet=True)
    return folder


def _empty(folder: Path) -> None:
    if any(folder.iterdir()):
        shutil.rmtree(folder)
        folder.mkdir(parents=True)


def recipe_text(cfg: TrainConfig) -> str:
    """The settings of a run in one line: width, batch, optimizer, schedule, data, sampler."""
    subset = f"first {cfg.train_images} digits of {cfg.dataset}" if cfg.train_images else f"all of {cfg.dataset}"
    parts = [f"D = {cfg.hidden}", f"batch {cfg.batch_size}", f"Adam {cfg.lr:g}",
             "constant lr" if cfg.lr_schedule == "constant" else f"ExpLR ×{cfg.lr_decay:g} over the run",
             f"{cfg.epochs} epochs on {subset}"]
    if cfg.kind == "denoise":
        parts.insert(0, f"σ = {cfg.sigma}")
    if cfg.kind == "ddpm":
        parts.insert(0, f"T = {cfg.num_train_steps}, β {cfg.beta_start:g}→{cfg.beta_end:g}")
    if cfg.class_conditioned:
        parts.append(f"p_uncond = {cfg.p_uncond}")
    if cfg.kind in ("ddpm", "flow"):
        parts.append(f"grids with {cfg.sample_steps} {'Euler' if cfg.kind == 'flow' else 'strided DDPM'} steps")
    return ", ".join(parts)
