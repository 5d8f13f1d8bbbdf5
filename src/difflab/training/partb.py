"""The single-step denoiser figures of Part B (spec §3.2–3.5), as tensors and as PNGs.

* `noising_grid` — digits × σ of z = x + σ·ε (deliverable B1.2);
* `denoise_panel` — rows [input, noisy, output] at one σ (B1.2.1b/c);
* `ood_sweep` — one digit at every σ, noisy row over denoised row (B1.2.2);
* `pure_noise_vs_mean` — what a pure-noise denoiser outputs beside the training-set mean (B1.2.3).

Noise is per image: digit i of a figure uses seed `seed + i` (`NoiseSource`), and the same ε is
reused across the σ columns, so a row shows σ alone changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..figures import save_grid
from ..sampling import NoiseSource

SIGMAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)


def noising_grid(images: Tensor, sigmas=SIGMAS, seed: int = 0) -> Tensor:
    """(N·len(sigmas), C, H, W): row i is image i noised as x + σ·ε_i for every σ (spec B.2)."""
    noise = NoiseSource(range(seed, seed + len(images))).like(images)
    rows = [torch.stack([x + s * e for s in sigmas]) for x, e in zip(images, noise)]
    return torch.cat(rows)


@torch.no_grad()
def denoise(net: nn.Module, z: Tensor, batch: int = 256) -> Tensor:
    """D_θ(z) in eval mode, in batches, on the net's device; returned on the CPU."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    out = torch.cat([net(chunk.to(device)).cpu() for chunk in z.split(batch)])
    net.train(was_training)
    return out


def denoise_panel(net: nn.Module, images: Tensor, sigma: float, seed: int = 0) -> Tensor:
    """(3·N, C, H, W): rows [input, noisy (σ), output] for each image (spec §3.3 layout)."""
    noisy = images + sigma * NoiseSource(range(seed, seed + len(images))).like(images)
    out = denoise(net, noisy)
    return torch.stack([images, noisy, out], dim=1).flatten(0, 1)


def ood_sweep(net: nn.Module, image: Tensor, sigmas=SIGMAS, seed: int = 0) -> Tensor:
    """(2·len(sigmas), C, H, W): the noisy row, then the denoised row (spec §3.4)."""
    noisy = noising_grid(image[None], sigmas, seed)
    return torch.cat([noisy, denoise(net, noisy)])


@dataclass
class MeanComparison:
    """Pure-noise outputs against the training-set mean; distances are RMS over pixels."""

    outputs: Tensor          # (N, C, H, W)
    mean_image: Tensor       # (C, H, W)
    output_to_mean: float    # mean over outputs of RMS(output − mean)
    digit_to_mean: float     # mean over training digits of RMS(digit − mean), for scale
    output_spread: float     # mean RMS(output − mean of outputs): how much outputs differ


def pure_noise_vs_mean(net: nn.Module, train_images: Tensor, n: int = 10, seed: int = 0) -> MeanComparison:
    """Spec §3.5: under MSE, the best D(ε) independent of ε is the training-set mean."""
    outputs = denoise(net, NoiseSource(range(seed, seed + n)).randn(train_images.shape[1:]))
    mean = train_images.mean(0)

    def rms(a: Tensor, b: Tensor) -> float:
        return float(((a - b) ** 2).flatten(1).mean(1).sqrt().mean())

    return MeanComparison(outputs, mean, rms(outputs, mean), rms(train_images, mean),
                          rms(outputs, outputs.mean(0)))


def save_noising_grid(images: Tensor, path: Path, seed: int = 0, overwrite: bool = False) -> Path:
    grid = noising_grid(images, SIGMAS, seed)
    return save_grid(grid, path, len(SIGMAS), col_labels=[f"σ = {s}" for s in SIGMAS],
                     title="z = x + σε (spec §3.2)", overwrite=overwrite)


def save_denoise_panel(net: nn.Module, images: Tensor, sigma: float, path: Path, title: str,
                       seed: int = 0, overwrite: bool = False) -> Path:
    panel = denoise_panel(net, images, sigma, seed)
    return save_grid(panel, path, 3, col_labels=["input", f"noisy (σ = {sigma})", "output"], title=title,
                     overwrite=overwrite)


def save_ood_sweep(net: nn.Module, image: Tensor, path: Path, seed: int = 0, overwrite: bool = False) -> Path:
    sweep = ood_sweep(net, image, SIGMAS, seed)
    return save_grid(sweep, path, len(SIGMAS), labels=[f"noisy σ = {s}" for s in SIGMAS] + ["denoised"] * len(SIGMAS),
                     title="out-of-distribution σ, model trained at σ = 0.5 (spec §3.4)", overwrite=overwrite)


def save_mean_comparison(result: MeanComparison, path: Path, overwrite: bool = False) -> Path:
    images = torch.cat([result.outputs, result.mean_image[None]])
    labels = [f"D(ε{i})" for i in range(len(result.outputs))] + ["training mean"]
    title = (f"pure-noise denoiser vs training-set mean: RMS(output − mean) = {result.output_to_mean:.3f}, "
             f"RMS(digit − mean) = {result.digit_to_mean:.3f}")
    return save_grid(images, path, min(len(images), 11), labels=labels, title=title, overwrite=overwrite)


def save_final_figures(folder: Path, kind: str, net: nn.Module, test_images: Tensor, train_images: Tensor,
                       seed: int) -> dict:
    """The figures a finished denoise or pure-noise run draws into `folder`; returns their metrics."""
    if kind == "denoise":
        save_noising_grid(test_images[:5], folder / "noising-grid.png", seed, overwrite=True)
        save_ood_sweep(net, test_images[0], folder / "ood-sweep.png", seed, overwrite=True)
    if kind != "pure-noise":
        return {}
    comparison = pure_noise_vs_mean(net, train_images, 10, seed)
    save_mean_comparison(comparison, folder / "pure-noise-vs-mean.png", overwrite=True)
    return dict(output_to_mean_rms=comparison.output_to_mean, digit_to_mean_rms=comparison.digit_to_mean,
                output_spread_rms=comparison.output_spread)
