"""Hybrid images by factorized diffusion (spec §2.11, arXiv 2404.11615).

Each step predicts under two conditions and keeps one component of each:

* "lowpass": f_low(pred(c_far)) + f_high(pred(c_near)), f_low a Gaussian blur and f_high the
  identity minus it (spec: kernel 33, σ = 2 at 64 px; `scaled_blur` scales both with the image,
  e.g. 133 / 8 at 256 px and 15 / 0.875 at 28 px, unless the model names its own: `hybrid_blur`).
  c_far is what one sees from afar.
* "color": grey(pred(c_grey)) + (pred(c_colour) − grey(pred(c_colour))), grey the channel mean:
  the greyscale image shows c_grey and the colour residual c_colour (3-channel models only).

Both factorizations are linear and send constants to the low/grey part, so they work the same on
ε, x̂0 and velocity predictions and in any value range. The two branches run as one batched
forward pass; variance channels, where a model has them, are factorized the same way.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from ..errors import UserError
from ..filters import gaussian_blur, scaled_blur
from ..models.protocol import Denoiser, ModelOutput

FACTORS = ("lowpass", "color")


def grey(x: Tensor) -> Tensor:
    """The channel mean, repeated over channels: the greyscale component."""
    return x.mean(dim=1, keepdim=True).expand_as(x)


def own_hybrid_blur(model) -> tuple[int, float] | None:
    """(kernel, σ) that `model`'s file names for its hybrids (`hybrid_blur`: the emoji model's), or None."""
    own = getattr(model, "hybrid_blur", None)
    return (int(own[0]), float(own[1])) if own else None


def hybrid_blur(model) -> tuple[int, float]:
    """(kernel, σ) of a hybrid on `model` unless told: the model's own measured blur, else the course's
    33 / 2 at 64 px scaled to its size."""
    return own_hybrid_blur(model) or scaled_blur(model.image_shape[1])


def factorization(kind: str, image_shape: tuple[int, int, int], kernel_size: int | None = None,
                  sigma: float | None = None, default_blur: tuple[int, float] | None = None) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], dict]:
    """(first part, second part, description) of a factorization; the parts sum to the identity."""
    channels, height, _ = image_shape
    if kind == "lowpass":
        default_k, default_s = default_blur or scaled_blur(height)
        k = default_k if kernel_size is None else kernel_size  # 0 is a value (refused below), not "unset"
        s = default_s if sigma is None else sigma
        if not math.isfinite(s):
            raise UserError(f"the hybrid blur needs a finite σ > 0, not {s}")
        if k % 2 == 0 or k < 1 or s <= 0:
            raise UserError(f"the hybrid blur needs an odd kernel size and σ > 0, not {k} and {s}")
        if k // 2 >= height:
            raise UserError(f"a {k}-pixel kernel is too large for {height}-pixel images")
        low = lambda x: gaussian_blur(x, k, s)  # noqa: E731
        return low, lambda x: x - low(x), {"factor": "lowpass", "kernel_size": k, "sigma": s}
    if kind == "color":
        if channels != 3:
            raise UserError(f"the colour/greyscale hybrid needs a colour model; this one has {channels} channel(s)")
        return grey, lambda x: x - grey(x), {"factor": "color"}
    raise UserError(f"unknown hybrid factorization {kind!r}; choose one of {', '.join(FACTORS)}")


class FactorizedDenoiser:
    """A `Denoiser` that takes part 1 of pred(cond_1) and part 2 of pred(cond_2); call with cond=None."""

    def __init__(self, base: Denoiser, cond_1: Tensor | None, cond_2: Tensor | None, kind: str = "lowpass",
                 kernel_size: int | None = None, sigma: float | None = None):
        if (cond_1 is None) != (cond_2 is None):
            raise UserError("a hybrid needs two prompts, or none")
        self.base, self.conds = base, (cond_1, cond_2)
        self.part_1, self.part_2, self.settings = factorization(kind, tuple(base.image_shape), kernel_size, sigma,
                                                                hybrid_blur(base))

    def __getattr__(self, name):
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> ModelOutput:
        if cond is not None:
            raise ValueError("a FactorizedDenoiser holds its two conditions; call it with cond=None")
        n = x_t.shape[0]
        conds = None if self.conds[0] is None else torch.cat([c.expand(n, *c.shape[1:]) for c in self.conds])
        out = self.base(torch.cat([x_t, x_t]), torch.cat([t, t]), conds)
        first, second = out.prediction.chunk(2)
        variance = None
        if out.variance is not None:
            v1, v2 = out.variance.chunk(2)
            variance = self.part_1(v1) + self.part_2(v2)
        return ModelOutput(self.part_1(first) + self.part_2(second), variance)

    def encode(self, conditions):
        raise UserError("a factorized denoiser takes its two conditions when it is built")
