"""Gaussian probability paths x_t = alpha(t)·x0 + sigma(t)·eps and the conversions between predictions.

Every model difflab knows lives on one of two paths, each with its own time convention:

* `DiscretePath` (DDPM, DeepFloyd IF): `t` is an integer index into ᾱ (``alphas_cumprod``);
  alpha = √ᾱ_t, sigma = √(1 − ᾱ_t); noise *decreases* as t goes down to 0 (spec eq. A.2).
* `FlowPath` (course flow matching): `t` is continuous in [0, 1], t = 0 is pure noise and t = 1 is
  data; x_t = (1 − t)·noise + t·data, so alpha = t and sigma = 1 − t (spec eq. B.3).

A model predicts one of ``"epsilon"`` (the noise), ``"x0"`` (the clean image) or ``"velocity"``
(dx_t/dt, flow paths only). On a known path each converts to the others, which is what lets
guidance, views and editing combine the predictions of any model.

**The path knows its time**, so code above it never asks which kind of path it holds: `grid`,
`noisiest`, `clean`, `is_noisier`, `continue_grid`, `parse_time`, `time_at_noise`, `time_batch`.
The grid rule: N + 1 times from the noisiest to the cleanest (N = ``steps``, default
`defaults.GRID_STEPS` = 33), so grid index i (``i_start``) is where i of N steps are done:

* Discrete paths: the uniform integer grid of N strides that reaches furthest into the noise —
  stride = T_max // N, times stride·N, stride·(N − 1), …, 0, with T_max = `noisiest` (IF: 999,
  course DDPM: 300). For IF and N = 33 this is exactly the course's ``strided_timesteps`` =
  [990, 960, …, 0] (spec §2.6); for the course DDPM it is [297, 288, …, 0] (stride 9);
  ``steps=300`` gives the course's full chain 300, 299, …, 0 (Algorithm B.2).
* Flow paths: t_i = i / N, pure noise at t = 0 to data at t = 1 (Algorithm B.2).

The rule keeps the signal-to-noise ratio at a given index close across models: i = 10 is t = 690
on IF (α/σ = 0.52), t = 207 on the course DDPM (0.55) and t = 10/33 on a flow model (0.43).

The module is longer than 300 lines because the two paths, their time rules and the conversions
between predictions are one piece of maths, read together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import Tensor

from .defaults import GRID_STEPS
from .errors import UserError

PredictionType = Literal["epsilon", "x0", "velocity"]
PREDICTIONS: tuple[PredictionType, ...] = ("epsilon", "x0", "velocity")


def _broadcast(value: Tensor | float, like: Tensor) -> Tensor:
    """Per-sample scalars (N,) or a plain number → shape (N, 1, 1, 1) on `like`'s device and dtype."""
    value = torch.as_tensor(value, dtype=torch.float64)
    value = value.to(device=like.device, dtype=like.dtype)
    return value.reshape(-1, *([1] * (like.dim() - 1))) if value.dim() else value


def cosine_alphas_cumprod(num_steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """ᾱ of the "squaredcos_cap_v2" schedule used by DeepFloyd IF (spec §2.1), float64, shape (T,).

    f(u) = cos²(((u + s)/(1 + s))·π/2); β_i = min(1 − f((i+1)/T)/f(i/T), max_beta); ᾱ_t = ∏_{i≤t}(1 − β_i).
    """
    def f(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    betas = torch.tensor([min(1 - f((i + 1) / num_steps) / f(i / num_steps), max_beta) for i in range(num_steps)],
                         dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


def linear_alphas_cumprod(num_steps: int = 300, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """ᾱ of the course's linear DDPM schedule (spec §3.6), float64, shape (T + 1,).

    β_1..β_T linearly spaced from beta_start to beta_end; index 0 holds ᾱ_0 := 1 so that
    ``abar[t] = ∏_{s=1..t}(1 − β_s)`` uses the algorithm's own 1-based t.
    """
    betas = torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, dim=0)])


def strided_timesteps(start: int = 990, stride: int = 30, end: int = 0) -> list[int]:
    """Decreasing integer timesteps [start, start − stride, …, end] (spec §2.6: 990 → 0 by 30, 34 entries)."""
    if stride <= 0 or start < end or (start - end) % stride:
        raise ValueError(f"cannot stride from {start} down to {end} by {stride}")
    return list(range(start, end - 1, -stride))


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UserError(f"--steps must be a positive integer, not {steps!r}")
    return steps


class GaussianPath:
    """x_t = alpha(t)·x0 + sigma(t)·eps; subclasses define alpha, sigma and their time convention."""

    kind: str
    time_dtype: torch.dtype
    update_rules: tuple[str, ...]  # names in `sampling.RULES` that run on this path, the course's own first

    # -- time: each subclass states its convention ------------------------------------------------
    def grid(self, steps: int = GRID_STEPS) -> list:  # pragma: no cover - abstract
        """N + 1 times from the noisiest to the cleanest (the module docstring's rule); UserError for bad N."""
        raise NotImplementedError

    @property
    def noisiest(self):  # pragma: no cover - abstract
        """The time at the pure-noise end of the path."""
        raise NotImplementedError

    @property
    def clean(self):  # pragma: no cover - abstract
        """The time at the clean end, where every grid ends."""
        raise NotImplementedError

    def is_noisier(self, t, than) -> bool:  # pragma: no cover - abstract
        """Whether time t is strictly noisier than time `than`."""
        raise NotImplementedError

    def parse_time(self, value):  # pragma: no cover - abstract
        """A user-given time (``--t``) in the path's own units, checked: one step must remain after it."""
        raise NotImplementedError

    def time_at_noise(self, fraction: float):  # pragma: no cover - abstract
        """The time a `fraction` of the way from clean (0) to pure noise (1): IF 0.25 → t = 250."""
        raise NotImplementedError

    def continue_grid(self, t, grid: Sequence) -> list:
        """[t] followed by every grid time cleaner than t: strided denoising from any t (spec §2.6).

        When t is on the grid this is the grid from t's index on, so denoising from t = grid[i]
        is the course's loop from i_start = i.
        """
        return [t] + [s for s in grid if self.is_noisier(t, s)]

    def time_batch(self, t, n: int, device=None) -> Tensor:
        """(n,) copies of time t in the path's time dtype, as a model is called with."""
        return torch.full((n,), t, dtype=self.time_dtype, device=device)

    # -- the path itself --------------------------------------------------------------------------

    def alpha(self, t) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def sigma(self, t) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def add_noise(self, x0: Tensor, noise: Tensor, t) -> Tensor:
        """The forward process: sample x_t ~ q(x_t | x0) with the given noise (spec eq. A.2 / B.3)."""
        return _broadcast(self.alpha(t), x0) * x0 + _broadcast(self.sigma(t), x0) * noise

    def to_x0(self, x_t: Tensor, prediction: Tensor, t, kind: PredictionType) -> Tensor:
        """The clean-image estimate x̂0 implied by a prediction of the given kind (spec §2.5: invert A.2)."""
        a, s = _broadcast(self.alpha(t), x_t), _broadcast(self.sigma(t), x_t)
        if kind == "x0":
            return prediction
        if kind == "epsilon":
            return (x_t - s * prediction) / a
        if kind == "velocity":
            self._require_flow()
            return x_t + s * prediction  # x0 = x_t + (1 − t)·v, since v = x0 − ε on the flow path
        raise ValueError(f"unknown prediction kind {kind!r}; expected one of {PREDICTIONS}")

    def to_eps(self, x_t: Tensor, prediction: Tensor, t, kind: PredictionType) -> Tensor:
        """The noise estimate ε̂ implied by a prediction of the given kind."""
        a, s = _broadcast(self.alpha(t), x_t), _broadcast(self.sigma(t), x_t)
        if kind == "epsilon":
            return prediction
        if kind == "x0":
            return (x_t - a * prediction) / s
        if kind == "velocity":
            self._require_flow()
            return x_t - a * prediction  # ε = x_t − t·v
        raise ValueError(f"unknown prediction kind {kind!r}; expected one of {PREDICTIONS}")

    def to_velocity(self, x_t: Tensor, prediction: Tensor, t, kind: PredictionType) -> Tensor:
        """dx_t/dt = x̂0 − ε̂ on the linear flow path (spec eq. B.4)."""
        if kind == "velocity":
            return prediction
        return self.to_x0(x_t, prediction, t, kind) - self.to_eps(x_t, prediction, t, kind)

    def _require_flow(self) -> None:
        if self.kind != "flow":
            raise ValueError(f"a {self.kind} path has no velocity parameterisation")


@dataclass(frozen=True, eq=False)
class DiscretePath(GaussianPath):
    """DDPM path over integer timesteps: alpha = √ᾱ_t, sigma = √(1 − ᾱ_t).

    ``alphas_cumprod[t]`` is ᾱ_t; ``num_train_steps`` is T, the number of training timesteps.
    The index −1 stands for the clean end (ᾱ := 1), as in diffusers' ``previous_timestep``.
    """

    alphas_cumprod: Tensor
    num_train_steps: int
    name: str = "discrete"
    kind: str = "discrete"
    time_dtype = torch.long
    update_rules = ("ddpm", "ddim")

    @property
    def noisiest(self) -> int:
        """The largest timestep index (IF: 999, course DDPM: 300)."""
        return len(self.alphas_cumprod) - 1

    @property
    def clean(self) -> int:
        return 0

    def grid(self, steps: int = GRID_STEPS) -> list[int]:
        stride = self.noisiest // _check_steps(steps)
        if stride < 1:
            raise UserError(f"--steps {steps} is more than this model's {self.noisiest} timesteps")
        return [stride * k for k in range(steps, -1, -1)]

    def is_noisier(self, t, than) -> bool:
        return t > than

    def parse_time(self, value) -> int:
        top = self.noisiest
        try:
            t = int(str(value))
        except ValueError:
            raise UserError(f"t must be an integer timestep from 1 to {top} for this model, not {value!r}") from None
        if not 1 <= t <= top:
            raise UserError(f"t must be an integer timestep from 1 to {top} for this model, not {t}")
        return t

    def time_at_noise(self, fraction: float) -> int:
        """round(fraction·T), kept within 1..noisiest so that a step remains (IF: 0.25 → 250)."""
        return min(self.noisiest, max(1, round(fraction * self.num_train_steps)))

    def abar(self, t) -> Tensor:
        """ᾱ_t for integer t (a number or an (N,) tensor); t = −1 gives 1."""
        t = torch.as_tensor(t, dtype=torch.long)
        table = torch.cat([self.alphas_cumprod, torch.ones(1, dtype=self.alphas_cumprod.dtype)])
        if bool(((t < -1) | (t >= len(self.alphas_cumprod))).any()):
            raise ValueError(f"timestep out of range for {self.name}: {t.tolist()}")
        return table[t]  # index −1 hits the appended 1.0

    def alpha(self, t) -> Tensor:
        return self.abar(t).sqrt()

    def sigma(self, t) -> Tensor:
        return (1 - self.abar(t)).sqrt()

    def model_time(self, t) -> Tensor:
        """t / T, the course's normalised time input (spec §3.6, B.1)."""
        return torch.as_tensor(t, dtype=torch.float32) / self.num_train_steps


@dataclass(frozen=True, eq=False)
class FlowPath(GaussianPath):
    """The course's linear flow path x_t = (1 − t)·noise + t·data, t ∈ [0, 1] (spec eq. B.3)."""

    name: str = "flow"
    kind: str = "flow"
    time_dtype = torch.float32
    update_rules = ("euler", "ddim")

    @property
    def noisiest(self) -> float:
        return 0.0

    @property
    def clean(self) -> float:
        return 1.0

    def grid(self, steps: int = GRID_STEPS) -> list[float]:
        steps = _check_steps(steps)
        return [i / steps for i in range(steps + 1)]

    def is_noisier(self, t, than) -> bool:
        return t < than

    def parse_time(self, value) -> float:
        try:
            t = float(value)
        except (TypeError, ValueError):
            raise UserError(f"t must be a number in [0, 1) for this flow model (0 = noise), not {value!r}") from None
        if not 0 <= t < 1:
            raise UserError(f"t must be in [0, 1) for this flow model (0 = noise, 1 = clean), not {t}")
        return t

    def time_at_noise(self, fraction: float) -> float:
        return 1.0 - fraction

    def alpha(self, t) -> Tensor:
        return torch.as_tensor(t, dtype=torch.float64)

    def sigma(self, t) -> Tensor:
        return 1 - torch.as_tensor(t, dtype=torch.float64)

    def model_time(self, t) -> Tensor:
        return torch.as_tensor(t, dtype=torch.float32)


def deepfloyd_path() -> DiscretePath:
    """The IF stage I/II path: cosine schedule, T = 1000 (spec §2.1)."""
    return DiscretePath(cosine_alphas_cumprod(1000), 1000, name="cosine-1000")


def course_ddpm_path(num_steps: int = 300, beta_start: float = 1e-4, beta_end: float = 0.02) -> DiscretePath:
    """The fall 2024 Part B path: linear β from 1e-4 to 0.02, T = 300 (spec §3.6)."""
    return DiscretePath(linear_alphas_cumprod(num_steps, beta_start, beta_end), num_steps, name=f"linear-{num_steps}")
