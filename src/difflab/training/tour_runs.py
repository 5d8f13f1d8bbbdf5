"""The small training runs of the tour's Part B, and the rule that trains, resumes or reuses one.

Where no model is shipped (the single-step and pure-noise denoisers, the time-only DDPM and flow,
the constant-lr flow) the tour trains one small run per recipe. Its settings are reduced from the
course's so that all of Part B fits in minutes on a 2-core CPU: `REDUCED` for the default tour,
`QUICK` for ``--quick``; with ``--train`` the course presets are trained instead (hours on a CPU).
Every run sits in one folder kept across tours: `ensure_trained` finds it done, resumes it after
an interrupt, or starts it over when its settings changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from .config import TrainConfig, resolve
from .loop import resume, train

TourMode = Literal["course", "reduced", "quick"]  # --train, the default tour, --quick

# threads=1: on a shared 2-core CPU two torch threads contend and run up to 10× slower (measured).
THREADS = 1
_ONE_STEP = dict(hidden=16, batch_size=64, lr=1e-3, lr_schedule="constant", test_images=64)
# Overrides of the quick-* presets (hidden, epochs, subset of mnist-5k, …); tests monkeypatch them.
REDUCED = {
    "denoise": dict(_ONE_STEP, epochs=5, train_images=2000, sample_epochs=(1, 5)),
    "pure-noise": dict(_ONE_STEP, epochs=5, train_images=2000, sample_epochs=(1, 5), samples=10),
    "ddpm": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(1, 5), sample_steps=30,
                 samples=20, test_images=64),
    "flow": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(1, 3, 5), sample_steps=20,
                 samples=20, test_images=64),
    "flow-class-nolr": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(5,),
                            sample_steps=20, samples_per_class=2, test_images=64),
}
QUICK = {
    "denoise": dict(_ONE_STEP, epochs=2, train_images=640, sample_epochs=(1, 2)),
    "pure-noise": dict(_ONE_STEP, epochs=2, train_images=640, sample_epochs=(1, 2), samples=10),
    "ddpm": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(1, 2), sample_steps=10,
                 samples=10, test_images=32),
    "flow": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(1, 2), sample_steps=10,
                 samples=10, test_images=32),
    "flow-class-nolr": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(2,),
                            sample_steps=10, samples_per_class=1, test_images=32),
}
# --train: a better time-only model for B-BW (the course's flow, wider and longer).
BETTER_TIME_ONLY = dict(hidden=128, epochs=20, sample_epochs=(1, 10, 20))
# Optimizer steps of the course's time-only runs: epochs × ceil(60,000 / batch) on full MNIST.
COURSE_STEPS = {"ddpm": 20 * 469, "flow": 10 * 938}


def run_config(recipe: str, mode: TourMode, dataset: str, seed: int) -> TrainConfig:
    """The config the tour trains `recipe` with: the course preset, or quick-* with the mode's overrides."""
    if mode == "course":
        return resolve(recipe, "course", dataset=dataset)
    table = QUICK if mode == "quick" else REDUCED
    return resolve(recipe, "quick", dataset=dataset, **dict(dict(seed=seed, sample_seed=seed, threads=THREADS),
                                                            **table[recipe]))


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
             f"{cfg.epochs} epochs on the {subset}"]
    if cfg.kind == "denoise":
        parts.insert(0, f"σ = {cfg.sigma}")
    if cfg.kind == "ddpm":
        parts.insert(0, f"T = {cfg.num_train_steps}, β {cfg.beta_start:g}→{cfg.beta_end:g}")
    if cfg.class_conditioned:
        parts.append(f"p_uncond = {cfg.p_uncond}")
    if cfg.kind in ("ddpm", "flow"):
        parts.append(f"grids with {cfg.sample_steps} {'Euler' if cfg.kind == 'flow' else 'strided DDPM'} steps")
    return ", ".join(parts)


def optimizer_steps(cfg: TrainConfig) -> int:
    """Optimizer steps of a run: epochs × ceil(training images / batch) (mnist-5k when not subset)."""
    return cfg.epochs * -(-(cfg.train_images or 5000) // cfg.batch_size)
