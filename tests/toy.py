"""Analytic denoisers for tests: data that is a single point, so every prediction is exact."""

from __future__ import annotations

import torch

from difflab.models.protocol import ModelOutput
from difflab.paths import _broadcast


class PointDenoiser:
    """The exact denoiser for data concentrated at `target` (1, C, H, W), with optional classes.

    With cond a one-hot (N, K) row, the data point is target + class index (so classes differ);
    the null condition (zeros) is the point `target` itself.
    """

    condition_kind = "class"
    value_range = (0.0, 1.0)

    def __init__(self, path, target, prediction_type="epsilon", variance=None):
        self.path, self.target, self.prediction_type = path, target, prediction_type
        self.image_shape = tuple(target.shape[1:])
        self.variance = variance
        self.calls = 0

    def point(self, cond, n):
        if cond is None:
            return self.target.expand(n, *self.image_shape)
        shift = (cond * torch.arange(cond.shape[1], dtype=cond.dtype)).sum(1)
        return self.target + _broadcast(shift, self.target.expand(n, *self.image_shape))

    def __call__(self, x_t, t, cond):
        self.calls += 1
        x0 = self.point(cond, x_t.shape[0])
        a, s = _broadcast(self.path.alpha(t), x_t), _broadcast(self.path.sigma(t), x_t)
        eps = (x_t - a * x0) / s
        pred = {"epsilon": eps, "x0": x0, "velocity": x0 - eps}[self.prediction_type]
        var = None if self.variance is None else torch.full_like(x_t, self.variance)
        return ModelOutput(pred, var)

    def encode(self, conditions):
        rows = torch.zeros(len(conditions), 4)
        for i, c in enumerate(conditions):
            if c is not None:
                rows[i, int(c)] = 1
        return rows
