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


class GaussianDenoiser(PointDenoiser):
    """The exact denoiser for data x0 ~ N(mean, std²) per pixel: x̂0 = E[x0 | x_t] in closed form.

    Its probability-flow ODE is solved exactly by `ode_solution`, so solvers can be scored against it.
    """

    def __init__(self, path, mean, std, prediction_type="epsilon"):
        super().__init__(path, mean, prediction_type)
        self.std = std

    def posterior_mean(self, x_t, t):
        a, s = _broadcast(self.path.alpha(t), x_t), _broadcast(self.path.sigma(t), x_t)
        return self.target + a * self.std**2 / (a**2 * self.std**2 + s**2) * (x_t - a * self.target)

    def __call__(self, x_t, t, cond):
        self.calls += 1
        x0 = self.posterior_mean(x_t, t)
        a, s = _broadcast(self.path.alpha(t), x_t), _broadcast(self.path.sigma(t), x_t)
        eps = (x_t - a * x0) / s
        return ModelOutput({"epsilon": eps, "x0": x0, "velocity": x0 - eps}[self.prediction_type])

    def ode_solution(self, x_t, t, t_end):
        """x at t_end on the ODE through x_t at t: (x − α·μ)/√(α²s² + σ²) is constant along it."""
        def spread(u):
            return (self.path.alpha(u) ** 2 * self.std**2 + self.path.sigma(u) ** 2).sqrt()
        z = (x_t - self.path.alpha(t) * self.target) / spread(t)
        return self.path.alpha(t_end) * self.target + spread(t_end) * z


class TinyNet:
    """A fixed random conv net behind the Denoiser protocol: outputs with no closed form, for identity tests."""

    condition_kind = "class"
    value_range = (0.0, 1.0)
    image_shape = (1, 6, 6)

    def __init__(self, path, prediction_type="epsilon", variance=False, seed=0):
        self.path, self.prediction_type = path, prediction_type
        g = torch.Generator().manual_seed(seed)
        self.weight = torch.randn(2, 1, 3, 3, generator=g) * 0.3
        self.variance = variance
        self.calls = 0

    def __call__(self, x_t, t, cond):
        self.calls += 1
        time = torch.as_tensor(t, dtype=x_t.dtype).reshape(-1, 1, 1, 1)
        time = time / self.path.num_train_steps if hasattr(self.path, "num_train_steps") else time
        shift = 0 if cond is None else (cond * torch.arange(cond.shape[1])).sum(1).reshape(-1, 1, 1, 1) / 10
        h = torch.nn.functional.conv2d(x_t, self.weight.to(x_t.dtype), padding=1)
        pred = torch.tanh(h[:, :1]) * (1 + time) + 0.1 * x_t + shift
        var = torch.tanh(h[:, 1:]) if self.variance else None
        return ModelOutput(pred, var)

    def encode(self, conditions):
        return PointDenoiser.encode(self, conditions)
