"""The one sampling loop, the update-rule adapters it drives, and per-image noise.

Every procedure of difflab — sampling, iterative denoising, SDEdit, inpainting, anagrams,
hybrids — is `sample_loop` with a different start, denoiser wrapper or per-step hook.

Time grids (`GaussianPath.grid`) run from the noisiest time to the cleanest: decreasing integers
on a `DiscretePath` (e.g. 990, 960, …, 0), increasing floats on a `FlowPath` (0, 1/N, …, 1).
``start`` indexes that grid, so SDEdit's ``i_start`` means the same thing for every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from .errors import UserError
from .models.protocol import Denoiser, ModelOutput
from .paths import GaussianPath, PredictionType, _broadcast
from .steps import ddim_step, ddpm_log_variance, ddpm_step, euler_step


class NoiseSource:
    """One generator per image, so an image depends on its own seed and not on its batch (EDM habit).

    Noise is drawn on the CPU in float32 and then moved, so a seed gives the same image on any device.
    """

    def __init__(self, seeds: Sequence[int]):
        self.seeds = [int(s) for s in seeds]
        self.generators = [torch.Generator().manual_seed(s) for s in self.seeds]

    def __len__(self) -> int:
        return len(self.seeds)

    def randn(self, shape: Sequence[int], device=None, dtype=torch.float32) -> Tensor:
        """(N, *shape) standard normal noise, row i from generator i."""
        rows = [torch.randn(tuple(shape), generator=g) for g in self.generators]
        return torch.stack(rows).to(device=device, dtype=dtype)

    def like(self, x: Tensor) -> Tensor:
        if x.shape[0] != len(self):
            raise ValueError(f"batch of {x.shape[0]} images but {len(self)} seeds")
        return self.randn(x.shape[1:], device=x.device, dtype=x.dtype)


@dataclass
class StepState:
    """What a per-step hook sees: step `index` took x_t at time `t` to `x_next` at `t_next`."""

    index: int
    t: float
    t_next: float
    x_t: Tensor
    x_next: Tensor
    x0_hat: Tensor


StepHook = Callable[[StepState], "Tensor | None"]


class UpdateRule:
    """Binds a pure update rule of `steps` to a model's output on its path."""

    name = "rule"
    wrong_path = "this update rule does not run on this path"

    def __call__(self, path: GaussianPath, x_t: Tensor, out: ModelOutput, kind: PredictionType, t: Tensor, t_next,
                 noise: NoiseSource | None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, path: GaussianPath) -> None:
        """Raise ValueError if this rule cannot run on `path` (the path lists the rules it takes)."""
        if self.name not in path.update_rules:
            raise ValueError(self.wrong_path)


class DDPMRule(UpdateRule):
    """Strided ancestral DDPM (spec A.3 + add_variance). variance: "auto" (learned if the model
    gives it, else "beta"), "beta", "posterior" or "learned". No noise is added on the step that
    reaches the clean end of the path (ᾱ_{t'} = 1, spec Algorithm B.2: z = 0 at t = 1)."""

    name = "ddpm"
    wrong_path = "the DDPM update needs a discrete (DDPM) path; use euler or ddim on flow models"

    def __init__(self, variance: str = "auto"):
        self.variance = variance

    def __call__(self, path, x_t, out, kind, t, t_next, noise):
        x0_hat = path.to_x0(x_t, out.prediction, t, kind)
        abar_t = _broadcast(path.abar(t), x_t)
        abar_prev = _broadcast(path.abar(path.time_batch(t_next, len(t), t.device)), x_t)
        variance = self.variance
        if variance == "auto":
            variance = "learned" if out.variance is not None else "beta"
        clean_end = bool((abar_prev == 1).all())
        if clean_end or noise is None:
            return ddpm_step(x_t, x0_hat, abar_t, abar_prev, None, None)
        log_var = ddpm_log_variance(abar_t, abar_prev, variance, out.variance)
        return ddpm_step(x_t, x0_hat, abar_t, abar_prev, noise.like(x_t), log_var)


class DDIMRule(UpdateRule):
    """Deterministic DDIM (η = 0) on any Gaussian path: x_{t'} = α_{t'}·x̂0 + σ_{t'}·ε̂."""

    name = "ddim"

    def __call__(self, path, x_t, out, kind, t, t_next, noise):
        x0_hat = path.to_x0(x_t, out.prediction, t, kind)
        eps_hat = path.to_eps(x_t, out.prediction, t, kind)
        t_next = path.time_batch(t_next, len(t), t.device)
        return ddim_step(x0_hat, eps_hat, _broadcast(path.alpha(t_next), x_t), _broadcast(path.sigma(t_next), x_t))


class EulerRule(UpdateRule):
    """Euler on the flow ODE (spec Algorithm B.2): x ← x + (t' − t)·u(x, t)."""

    name = "euler"
    wrong_path = "the Euler update needs a flow path; use ddpm or ddim on DDPM models"

    def __call__(self, path, x_t, out, kind, t, t_next, noise):
        velocity = path.to_velocity(x_t, out.prediction, t, kind)
        return euler_step(x_t, velocity, _broadcast(t_next - t, x_t))


RULES: dict[str, Callable[[], UpdateRule]] = {"ddpm": DDPMRule, "ddim": DDIMRule, "euler": EulerRule}


def default_rule(path: GaussianPath) -> UpdateRule:
    """The course's own sampler for a path: ancestral DDPM on discrete paths, Euler on flow paths."""
    return RULES[path.update_rules[0]]()


def check_i_start(i_start: int, grid: Sequence) -> int:
    """A user's start index from which at least one step remains: 0 ≤ i_start ≤ len(grid) − 2."""
    last = len(grid) - 2
    if isinstance(i_start, bool) or not isinstance(i_start, int) or not 0 <= i_start <= last:
        raise UserError(f"i_start must be an integer from 0 to {last} on a {last + 1}-step grid, not {i_start!r}")
    return i_start


def sample_loop(denoiser: Denoiser, x: Tensor, timesteps: Sequence[float], cond: Tensor | None = None, *,
                rule: UpdateRule | None = None, noise: NoiseSource | None = None, start: int = 0,
                hook: StepHook | None = None, progress: Callable | None = None) -> Tensor:
    """Run x from timesteps[start] to timesteps[-1] and return the result (N, C, H, W).

    x must already be at time timesteps[start] (pure noise for start = 0, a noised image for
    SDEdit). ``hook(state)`` runs after every step and may return a replacement for x_next
    (inpainting's projection); ``progress`` wraps the step range (e.g. a tqdm factory).
    """
    path = denoiser.path
    rule = rule or default_rule(path)
    rule.check(path)
    if not 0 <= start < len(timesteps) - 1:
        raise ValueError(f"start index {start} is outside 0..{len(timesteps) - 2}")
    steps = range(start, len(timesteps) - 1)
    for i in progress(steps) if progress else steps:
        t_value, t_next = timesteps[i], timesteps[i + 1]
        t = path.time_batch(t_value, x.shape[0])
        out = denoiser(x, t, cond)
        x_next = rule(path, x, out, denoiser.prediction_type, t, t_next, noise)
        if hook is not None:
            x0_hat = path.to_x0(x, out.prediction, t, denoiser.prediction_type)
            replaced = hook(StepState(i, t_value, t_next, x, x_next, x0_hat))
            x_next = x_next if replaced is None else replaced
        x = x_next
    return x
