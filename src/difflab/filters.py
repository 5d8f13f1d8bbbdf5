"""Gaussian low-pass and high-pass filters and PSNR, in plain torch (no torchvision).

The blur is torchvision's ``gaussian_blur`` rebuilt: a normalised 1-D Gaussian of odd size k and
standard deviation σ, applied separably per channel with reflect padding. Since the kernel sums
to 1 and the padding reflects, a constant image is left unchanged, so the high-pass x − blur(x)
of a constant is exactly 0 (hybrids rely on this, whatever the value range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

REFERENCE_SIZE, REFERENCE_KERNEL, REFERENCE_SIGMA = 64, 33, 2.0  # spec §2.11, at 64 px


def gaussian_kernel1d(kernel_size: int, sigma: float, dtype=torch.float32, device=None) -> Tensor:
    """(k,) weights exp(−x²/2σ²) at x = −(k−1)/2 … (k−1)/2, normalised to sum 1."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"the blur kernel size must be a positive odd integer, not {kernel_size}")
    if sigma <= 0:
        raise ValueError(f"the blur σ must be positive, not {sigma}")
    x = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    weights = torch.exp(-x**2 / (2 * sigma**2))
    return (weights / weights.sum()).to(dtype=dtype, device=device)


def gaussian_blur(x: Tensor, kernel_size: int, sigma: float) -> Tensor:
    """Blur a batch (N, C, H, W) channel by channel; reflect padding, output of the same shape."""
    n, c, h, w = x.shape
    pad = kernel_size // 2
    if pad >= min(h, w):
        raise ValueError(f"a {kernel_size}-pixel kernel is too large for a {h}x{w} image (reflect padding)")
    k = gaussian_kernel1d(kernel_size, sigma, x.dtype, x.device)
    flat = x.reshape(n * c, 1, h, w)
    flat = F.conv2d(F.pad(flat, (pad, pad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, pad, pad), mode="reflect"), k.view(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def lowpass(x: Tensor, kernel_size: int, sigma: float) -> Tensor:
    return gaussian_blur(x, kernel_size, sigma)


def highpass(x: Tensor, kernel_size: int, sigma: float) -> Tensor:
    """Identity minus low-pass (spec §2.11): lowpass(x) + highpass(x) == x."""
    return x - gaussian_blur(x, kernel_size, sigma)


def scaled_blur(size: int, kernel_size: int = REFERENCE_KERNEL, sigma: float = REFERENCE_SIGMA,
                reference: int = REFERENCE_SIZE) -> tuple[int, float]:
    """Kernel and σ given at `reference` px, scaled to `size` px; the kernel stays odd and ≥ 3.

    64 px → (33, 2.0); 256 px → (133, 8.0), as the reference implementation; 28 px → (15, 0.875).
    """
    scale = size / reference
    k = 2 * round((kernel_size * scale - 1) / 2) + 1
    return max(3, k), sigma * scale


def psnr(x: Tensor, reference: Tensor, value_range: tuple[float, float]) -> Tensor:
    """Per-image PSNR in dB (N,), both clipped to the value range first (what one sees)."""
    low, high = value_range
    x, reference = x.clamp(low, high), reference.clamp(low, high)
    mse = ((x - reference) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    return 10 * torch.log10((high - low) ** 2 / mse)


@dataclass
class BlurResult:
    """A blurred batch and the filter that made it (the PSNR is the batch mean, in dB)."""

    image: Tensor
    kernel_size: int
    sigma: float
    psnr: float


def best_blur(noisy: Tensor, clean: Tensor, value_range: tuple[float, float],
              kernel_sizes: Sequence[int] | None = None, sigmas: Sequence[float] | None = None) -> BlurResult:
    """The Gaussian blur of `noisy` with the best PSNR against `clean`, over a grid of (k, σ).

    An oracle search (it sees the clean image), so the classical baseline is as good as it can be.
    Default grid: odd k from 3 to 25 (as the image allows) and σ from 0.5 to 4 in steps of 0.25.
    """
    size = min(noisy.shape[-2:])
    kernel_sizes = kernel_sizes or [k for k in range(3, 26, 2) if k // 2 < size]
    sigmas = sigmas or [0.25 * i for i in range(2, 17)]
    best = None
    for k in kernel_sizes:
        for s in sigmas:
            image = gaussian_blur(noisy, k, s)
            score = psnr(image, clean, value_range).mean().item()
            if best is None or score > best.psnr:
                best = BlurResult(image, k, s, score)
    return best


def downsample(x: Tensor, factor: int) -> Tensor:
    """Area-average by an integer factor: how a hybrid looks from afar (size rounded down)."""
    factor = max(1, int(factor))
    return F.avg_pool2d(x, factor) if factor > 1 and min(x.shape[-2:]) >= factor else x

