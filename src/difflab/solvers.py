"""Solvers: one step of the sampling loop, free to call the model as often as it needs.

A solver step is ``step(denoise, x, t, t_next, state)``: ``denoise(x, t)`` calls the model and returns
a `Prediction` (its output in every currency the path converts to, x̂0 first); the step applies the
pure formulas of `difflab.steps` and returns x at t_next and its new `SolverState` (the x̂0 at the
step's start and its time: what the hook shows and what a multistep solver remembers). The loop
(`difflab.sampling.sample_loop`) owns the grid, the start index and the per-step hook, so every
procedure — sampling, SDEdit, inpainting, anagrams, hybrids — runs with every solver.

The loop also tells a step whether it is the last of its run (``final``): Heun then takes an Euler
step (EDM Algorithm 1: no second evaluation at the end) and DPM-Solver++ a first-order one
(diffusers' ``lower_order_final``).

Solvers and their network evaluations (NFE) for N grid steps:

* ``ddpm`` — the course's strided ancestral DDPM (spec A.3 + add_variance); discrete paths. N.
* ``ddim`` — DDIM with η (Song et al. 2021, eq. 12/16); η = 0 deterministic, η = 1 ancestral. N.
* ``euler`` — Euler on the probability-flow ODE: in t on a flow path (spec Algorithm B.2), in σ/α on a
  discrete path (EDM's x/α, σ/α form, where it equals DDIM η = 0). N.
* ``heun`` — Heun's 2nd-order method in the same coordinates (EDM Algorithm 1). 2N − 1.
* ``dpm++2m`` — DPM-Solver++ 2M in λ = log(α/σ) on x̂0 (Lu et al. 2022b), first order on the first
  and last step. N.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import torch
from torch import Tensor

from .models.protocol import Denoiser, ModelOutput
from .paths import GaussianPath, _broadcast
from .steps import (ddim_noise_scale, ddim_step, ddpm_log_variance, ddpm_step, dpm_solver_pp_step, euler_step,
                    heun_step, log_snr)


def integrates_in_time(path: GaussianPath) -> bool:
    """Whether the ODE is integrated in the path's own time: a continuous time (the flow's, where
    dx/dt is the velocity) is; an integer index is not, and the ODE is taken in σ/α instead."""
    return path.time_dtype.is_floating_point


@dataclass(eq=False)
class Prediction:
    """The model's answer at (x, t) — t the (N,) batch it was given — converted on demand."""

    path: GaussianPath
    x: Tensor
    t: Tensor
    output: ModelOutput
    prediction_type: str

    @cached_property
    def x0(self) -> Tensor:
        return self.path.to_x0(self.x, self.output.prediction, self.t, self.prediction_type)

    @cached_property
    def eps(self) -> Tensor:
        return self.path.to_eps(self.x, self.output.prediction, self.t, self.prediction_type)

    @cached_property
    def velocity(self) -> Tensor:
        return self.path.to_velocity(self.x, self.output.prediction, self.t, self.prediction_type)


Denoise = Callable[[Tensor, float], Prediction]


def bind(denoiser: Denoiser, cond: Tensor | None) -> Denoise:
    """denoise(x, t): one model call at the scalar time t for the whole batch, under `cond`."""
    path = denoiser.path

    def denoise(x: Tensor, t) -> Prediction:
        times = path.time_batch(t, x.shape[0])
        return Prediction(path, x, times, denoiser(x, times, cond), denoiser.prediction_type)
    return denoise


@dataclass(frozen=True)
class SolverState:
    """x̂0 at the start of the step just taken and that step's start time (None before the first step)."""

    x0: Tensor | None = None
    t: float | None = None


class Solver:
    """One step of a sampler; subclasses implement `step`. A path lists the solvers it takes."""

    name = "solver"
    wrong_path = "this solver does not run on this path"

    def check(self, path: GaussianPath) -> None:
        """Raise ValueError if this solver cannot run on `path`."""
        if self.name not in path.solvers:
            raise ValueError(self.wrong_path)

    def nfe(self, steps: int) -> int:
        """Network evaluations per image for `steps` grid steps (before CFG doubling)."""
        return steps

    def step(self, denoise: Denoise, x: Tensor, t, t_next, state: SolverState, *, noise=None,
             final: bool = False) -> tuple[Tensor, SolverState]:  # pragma: no cover - abstract
        raise NotImplementedError


def _scalars(path: GaussianPath, t, like: Tensor) -> tuple[Tensor, Tensor]:
    """(α_t, σ_t) as per-sample (N, 1, 1, 1) tensors in x's dtype, from the (N,) time batch t."""
    return _broadcast(path.alpha(t), like), _broadcast(path.sigma(t), like)


def _next_batch(p: Prediction, t_next) -> Tensor:
    return p.path.time_batch(t_next, p.x.shape[0])


@dataclass
class DDPM(Solver):
    """Strided ancestral DDPM (spec A.3 + add_variance). variance: "auto" (learned if the model gives
    it, else "beta"), "beta", "posterior" or "learned". No noise is added on the step that reaches the
    clean end of the path (ᾱ_{t'} = 1, spec Algorithm B.2: z = 0 at t = 1)."""

    variance: str = "auto"
    name = "ddpm"
    wrong_path = "the DDPM update needs a discrete (DDPM) path; use euler, heun, dpm++2m or ddim on flow models"

    def step(self, denoise, x, t, t_next, state, *, noise=None, final=False):
        p = denoise(x, t)
        abar_t = _broadcast(p.path.abar(p.t), x)
        abar_prev = _broadcast(p.path.abar(_next_batch(p, int(t_next))), x)
        variance = self.variance
        if variance == "auto":
            variance = "learned" if p.output.variance is not None else "beta"
        if bool((abar_prev == 1).all()) or noise is None:
            x_next = ddpm_step(x, p.x0, abar_t, abar_prev, None, None)
        else:
            log_var = ddpm_log_variance(abar_t, abar_prev, variance, p.output.variance)
            x_next = ddpm_step(x, p.x0, abar_t, abar_prev, noise.like(x), log_var)
        return x_next, SolverState(p.x0, t)


@dataclass
class DDIM(Solver):
    """DDIM on any Gaussian path: x_{t'} = α_{t'}·x̂0 + √(σ_{t'}² − s²)·ε̂ + s·z,
    with s = `ddim_noise_scale`(η)."""

    eta: float = 0.0
    name = "ddim"

    def check(self, path):
        super().check(path)
        if not 0 <= self.eta <= 1:
            raise ValueError(f"DDIM's η must be in [0, 1], not {self.eta}")

    def step(self, denoise, x, t, t_next, state, *, noise=None, final=False):
        p = denoise(x, t)
        alpha_next, sigma_next = _scalars(p.path, _next_batch(p, t_next), x)
        if self.eta == 0 or noise is None:
            return ddim_step(p.x0, p.eps, alpha_next, sigma_next), SolverState(p.x0, t)
        h = _log_snr_step(p.path, p.t, _next_batch(p, t_next))
        scale = _broadcast(ddim_noise_scale(h, p.path.sigma(_next_batch(p, t_next)), self.eta), x)
        return ddim_step(p.x0, p.eps, alpha_next, sigma_next, noise.like(x), scale), SolverState(p.x0, t)


def _log_snr_step(path: GaussianPath, t: Tensor, t_next: Tensor) -> Tensor:
    """h = λ(t') − λ(t) per sample, in float64 (+∞ into the clean end, +∞ out of pure noise)."""
    return log_snr(path.alpha(t_next), path.sigma(t_next)) - log_snr(path.alpha(t), path.sigma(t))


def _slope(p: Prediction) -> Tensor:
    return p.velocity if integrates_in_time(p.path) else p.eps


def _ode_step(p: Prediction, t_next, slope_next: Tensor | None = None) -> Tensor:
    """An Euler step (or Heun's, given the slope at the Euler point) of the probability-flow ODE.

    Flow paths: dx/dt = velocity (spec Algorithm B.2). Discrete paths: EDM's scaled form y = x/α,
    s = σ/α, dy/ds = ε̂, in which the Euler step is exactly DDIM η = 0.
    """
    x, path = p.x, p.path
    if integrates_in_time(path):
        dt = _broadcast(t_next - p.t, x)
        return euler_step(x, p.velocity, dt) if slope_next is None else heun_step(x, p.velocity, slope_next, dt)
    (a, s), (a_next, s_next) = _scalars(path, p.t, x), _scalars(path, _next_batch(p, t_next), x)
    y, ds = x / a, s_next / a_next - s / a
    return a_next * (euler_step(y, p.eps, ds) if slope_next is None else heun_step(y, p.eps, slope_next, ds))


class Euler(Solver):
    """Euler on the probability-flow ODE (spec Algorithm B.2 on flow paths; DDIM η = 0 on discrete ones)."""

    name = "euler"

    def step(self, denoise, x, t, t_next, state, *, noise=None, final=False):
        p = denoise(x, t)
        return _ode_step(p, t_next), SolverState(p.x0, t)


class Heun(Solver):
    """Heun's 2nd-order method (EDM Algorithm 1): average the slopes at x_t and at the Euler point;
    the last step is the Euler step alone."""

    name = "heun"

    def nfe(self, steps: int) -> int:
        return 2 * steps - 1

    def step(self, denoise, x, t, t_next, state, *, noise=None, final=False):
        p = denoise(x, t)
        x_euler = _ode_step(p, t_next)
        if not final:
            x_euler = _ode_step(p, t_next, _slope(denoise(x_euler, t_next)))
        return x_euler, SolverState(p.x0, t)


class DPMSolverPP2M(Solver):
    """DPM-Solver++ 2M (Lu et al. 2022b) in λ = log(α/σ): a first-order step first, last (diffusers'
    ``lower_order_final``), wherever a step touches λ = ±∞ (pure noise or the clean end), and after a
    restart of the loop; second order, with the previous step's x̂0, everywhere else."""

    name = "dpm++2m"

    def step(self, denoise, x, t, t_next, state, *, noise=None, final=False):
        p = denoise(x, t)
        path, t_next_batch = p.path, _next_batch(p, t_next)
        h = _log_snr_step(path, p.t, t_next_batch)
        ratio = path.sigma(t_next_batch) / path.sigma(p.t)
        x0_prev = h_prev = None
        if state.x0 is not None and not final:
            h_prev = _log_snr_step(path, path.time_batch(state.t, x.shape[0]), p.t)
            if bool(torch.isfinite(h_prev).all() & torch.isfinite(h).all()):
                x0_prev, h_prev = state.x0, _broadcast(h_prev, x)
        x_next = dpm_solver_pp_step(x, p.x0, _broadcast(ratio, x), _broadcast(path.alpha(t_next_batch), x),
                                    _broadcast(h, x), x0_prev, h_prev)
        return x_next, SolverState(p.x0, t)


SOLVERS: dict[str, Callable[..., Solver]] = {"ddpm": DDPM, "ddim": DDIM, "euler": Euler, "heun": Heun,
                                             "dpm++2m": DPMSolverPP2M}


def make_solver(name: str, eta: float | None = None) -> Solver:
    """The solver called `name`; `eta` is DDIM's η (refused for the others)."""
    if name not in SOLVERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SOLVERS)}")
    if eta is not None and name != "ddim":
        raise ValueError(f"--eta is DDIM's noise level; the {name} sampler takes none")
    return DDIM(eta) if name == "ddim" and eta is not None else SOLVERS[name]()


def default_solver(path: GaussianPath) -> Solver:
    """The course's own sampler for a path: ancestral DDPM on discrete paths, Euler on flow paths."""
    return SOLVERS[path.solvers[0]]()
