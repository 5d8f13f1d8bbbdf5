"""What a training run draws and exports: sample grids, denoiser panels, the loss curve, model files.

Sample grids use the package's one sampling loop on the path's own grid of `sample_steps` steps
(`GaussianPath.grid`): ancestral DDPM over strided steps of T (all 300 in the course preset) or
Euler over flow steps; class-conditioned grids are `samples_per_class` rows × one column per
class with CFG u + γ(c − u) (spec Alg. B.4).
Image i of a grid always uses seed `sample_seed + i`, so grids of different epochs (and of the
raw and EMA weights) start from the same noise and can be compared picture by picture.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..checkpoints import save_model_file
from ..figures import save_curve, save_grid
from ..guidance import GuidedDenoiser
from ..models.course import CourseDenoiser, CourseSpec
from ..runs import read_json, read_jsonl
from ..sampling import NoiseSource, sample_loop
from .config import TrainConfig
from .partb import denoise, save_denoise_panel


def model_spec(cfg: TrainConfig, net: nn.Module, class_names, weights: str) -> CourseSpec:
    """The `CourseSpec` stored in every model file the run writes."""
    extra = {"weights": weights, "guidance": cfg.guidance, "sample_steps": cfg.sample_steps,
             "preset": cfg.preset}
    return CourseSpec(objective=cfg.kind, unet=dict(net.config), dataset=cfg.dataset,
                      class_names=tuple(class_names), num_train_steps=cfg.num_train_steps,
                      beta_start=cfg.beta_start, beta_end=cfg.beta_end, sigma=cfg.sigma, extra=extra)


def export_model(path: Path, net: nn.Module, spec: CourseSpec, records: dict, dtype=None) -> Path:
    return save_model_file(path, net.state_dict(), spec.to_dict(), records, dtype=dtype, overwrite=True)


@torch.no_grad()
def generate(net: nn.Module, spec: CourseSpec, cfg: TrainConfig, device, quiet: bool = True,
             desc: str = "sampling") -> tuple[Tensor, dict]:
    """Sample a grid from a DDPM or flow net; returns (images (N, 1, H, W) in [0, 1], grid layout)."""
    denoiser = CourseDenoiser(copy.deepcopy(net), spec, device=device)
    names = spec.class_names
    if denoiser.condition_kind == "class":
        n, ncols = cfg.samples_per_class * len(names), len(names)
        cond = denoiser.encode([i % len(names) for i in range(n)])
        model, layout = GuidedDenoiser(denoiser, cfg.guidance), {"col_labels": list(names)}
    else:
        n, ncols, cond, model, layout = cfg.samples, min(cfg.samples, 10), None, denoiser, {}
    noise = NoiseSource(range(cfg.sample_seed, cfg.sample_seed + n))
    x = noise.randn(denoiser.image_shape)
    progress = None if quiet else (lambda steps: tqdm(steps, desc=desc, leave=False, unit="step"))
    images = sample_loop(model, x, denoiser.path.grid(cfg.sample_steps), cond, noise=noise, progress=progress)
    return images.clamp(0, 1), dict(ncols=ncols, **layout)


def save_epoch_outputs(run_dir: Path, epoch: int, nets: dict[str, nn.Module], cfg: TrainConfig,
                       spec: CourseSpec, test_images: Tensor, device, quiet: bool) -> list[Path]:
    """After epoch `epoch`: one picture per set of weights ("ema", "raw") in run_dir/samples."""
    written = []
    for which, net in nets.items():
        title = f"{cfg.preset or cfg.kind}, epoch {epoch}, {which} weights"
        path = draw_epoch_figure(run_dir / "samples" / f"epoch-{epoch:03d}-{which}.png", net, cfg, spec,
                                 test_images, title, device, quiet)
        written += [path] if path else []
    return written


def draw_epoch_figure(path: Path, net: nn.Module, cfg: TrainConfig, spec: CourseSpec, test_images: Tensor,
                      title: str, device="cpu", quiet: bool = True) -> Path | None:
    """The picture of a run's weights after an epoch (None when the config asks for none): test digits
    through a denoiser, D(ε) of a pure-noise one, or the sample grid of a DDPM or flow model. The
    training run draws it after its sample epochs; the tour draws it again from shipped snapshots."""
    if cfg.kind == "denoise":
        return save_denoise_panel(net, test_images[:3], cfg.sigma, path, title, cfg.sample_seed, overwrite=True)
    if cfg.kind == "pure-noise":
        if not cfg.samples:
            return None
        z = NoiseSource(range(cfg.sample_seed, cfg.sample_seed + cfg.samples)).randn(test_images.shape[1:])
        images, layout = denoise(net, z), dict(ncols=min(cfg.samples, 10))
    elif (cfg.samples_per_class if cfg.class_conditioned else cfg.samples) == 0:
        return None  # no grid asked for
    else:
        images, layout = generate(net, spec, cfg, device, quiet, desc=f"samples: {title}")
        if cfg.class_conditioned:
            title += f", CFG γ = {cfg.guidance}"
    return save_grid(images, path, title=title, overwrite=True, **layout)


def read_loss_history(stats: Path) -> tuple[list[int], list[float]]:
    """(steps, losses) of a run's stats.jsonl: one entry per optimizer step."""
    steps, losses = [], []
    for line in stats.read_text().splitlines():
        record = json.loads(line)
        steps.append(record["step"])
        losses.append(record["loss"])
    return steps, losses


def run_records(run_dir: Path) -> dict:
    """What a finished run folder records of its training: metrics.json, the per-epoch records of
    epochs.jsonl and the per-iteration losses of stats.jsonl ({"step": [...], "loss": [...]})."""
    steps, losses = read_loss_history(run_dir / "stats.jsonl")
    return {"metrics": read_json(run_dir / "metrics.json", "run metrics"),
            "epochs": read_jsonl(run_dir / "epochs.jsonl", "epoch"),
            "loss_history": {"step": steps, "loss": losses}}


def save_loss_history(path: Path, steps: list[int], losses: list[float], title: str) -> Path:
    """The per-iteration loss (log y) and its running mean over 1/50 of the run, as a PNG at `path`."""
    series, window = {"loss": losses}, len(losses) // 50
    if window > 1:
        cumulative = torch.tensor([0.0] + losses, dtype=torch.float64).cumsum(0)
        series[f"running mean ({window} steps)"] = [
            float(cumulative[i + 1] - cumulative[max(0, i + 1 - window)]) / min(i + 1, window)
            for i in range(len(losses))]
    return save_curve(path, steps, series, ylabel="MSE loss", title=title, log_y=True, overwrite=True)


def save_loss_curve(run_dir: Path, title: str) -> Path | None:
    """run_dir/loss.png: per-iteration training loss (log y) and its running mean, from stats.jsonl."""
    stats = run_dir / "stats.jsonl"
    if not stats.is_file():
        return None
    steps, losses = read_loss_history(stats)
    return save_loss_history(run_dir / "loss.png", steps, losses, title) if steps else None
