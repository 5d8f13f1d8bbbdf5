"""Classifier-free guidance as a denoiser wrapper.

Convention (Ho & Salimans 2022, spec eq. A.4): guided = u + γ·(c − u), with u the unconditional
and c the conditional prediction. γ = 0 is unconditional, γ = 1 conditional, γ > 1 sharper and
less diverse. Guidance combines predictions in the model's own parameterisation (ε, x̂0 or
velocity); since the conversions between them are affine in the prediction, the result is the
same whichever one is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .models.protocol import Denoiser, ModelOutput


def cfg_combine(uncond: Tensor, cond: Tensor, scale: float) -> Tensor:
    """u + γ·(c − u) (spec eq. A.4)."""
    return uncond + scale * (cond - uncond)


@dataclass
class GuidedDenoiser:
    """A denoiser whose predictions are classifier-free guided with scale γ.

    One batched forward pass evaluates the conditional and the unconditional branch together.
    The variance channels (where the model has them) come from the conditional branch (spec §2.8).
    """

    base: Denoiser
    scale: float

    def __post_init__(self):
        if self.scale < 0:
            raise ValueError(f"guidance scale must be ≥ 0, got {self.scale}")
        self.null = self.base.encode([None])

    def __getattr__(self, name):  # path, prediction_type, image_shape, value_range, encode …
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        if cond is None or self.null is None or self.scale == 1:
            return self.base(x_t, t, cond)
        null = self.null.expand(x_t.shape[0], *self.null.shape[1:]).to(cond)
        if self.scale == 0:
            return self.base(x_t, t, null)
        both = self.base(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([cond, null]))
        c, u = both.prediction.chunk(2)
        variance = None if both.variance is None else both.variance.chunk(2)[0]
        return ModelOutput(cfg_combine(u, c, self.scale), variance)
