"""Update rules: pure functions of tensors that move x_t to x_{t'}; they never call a model.

The solvers of `difflab.solvers` call the model and feed its predictions to these formulas.

Noise is always passed in, so every rule is deterministic under test. Scalars such as ᾱ_t may be
numbers, 0-dim tensors or per-sample tensors broadcastable against the image batch.
"""

from __future__ import annotations

import torch
from torch import Tensor


def ddpm_posterior_mean(x_t: Tensor, x0_hat: Tensor, abar_t: Tensor, abar_prev: Tensor) -> Tensor:
    """Mean of q(x_{t'} | x_t, x̂0) for a stride t → t' (spec eq. A.3; DDPM eqs. 6–7).

    α_t = ᾱ_t / ᾱ_{t'} and β_t = 1 − α_t are taken over the whole stride, not a single step.
    """
    alpha_t = abar_t / abar_prev
    beta_t = 1 - alpha_t
    x0_coeff = abar_prev.sqrt() * beta_t / (1 - abar_t)
    xt_coeff = alpha_t.sqrt() * (1 - abar_prev) / (1 - abar_t)
    return x0_coeff * x0_hat + xt_coeff * x_t


def ddpm_log_variance(abar_t: Tensor, abar_prev: Tensor, kind: str = "beta",
                      learned: Tensor | None = None) -> Tensor:
    """log of the variance added on a strided DDPM step.

    kind "beta": β_t, the course's fixed choice (spec Algorithm B.2, √β_t·z).
    kind "posterior": β̃_t = (1 − ᾱ_{t'})/(1 − ᾱ_t)·β_t, clamped at 1e-20.
    kind "learned": IF's learned range, frac·log β_t + (1 − frac)·log β̃_t with frac = (v + 1)/2
    and v the model's variance channels (spec §2.6, diffusers' "learned_range").
    """
    beta_t = 1 - abar_t / abar_prev
    posterior = torch.clamp((1 - abar_prev) / (1 - abar_t) * beta_t, min=1e-20)
    if kind == "beta":
        return torch.log(beta_t)
    if kind == "posterior":
        return torch.log(posterior)
    if kind == "learned":
        if learned is None:
            raise ValueError("the learned variance needs the model's variance channels")
        frac = (learned + 1) / 2
        return frac * torch.log(beta_t) + (1 - frac) * torch.log(posterior)
    raise ValueError(f"unknown DDPM variance {kind!r}; expected beta, posterior or learned")


def ddpm_step(x_t: Tensor, x0_hat: Tensor, abar_t: Tensor, abar_prev: Tensor,
              noise: Tensor | None, log_variance: Tensor | None) -> Tensor:
    """x_{t'} = posterior mean + exp(½·log σ²)·z (spec A.3 followed by add_variance).

    With ``noise`` None the step is deterministic (the mean alone), as at the clean end of the path.
    """
    mean = ddpm_posterior_mean(x_t, x0_hat, abar_t, abar_prev)
    if noise is None:
        return mean
    return mean + torch.exp(0.5 * log_variance) * noise


def ddim_step(x0_hat: Tensor, eps_hat: Tensor, alpha_next: Tensor, sigma_next: Tensor,
              noise: Tensor | None = None, eta_sigma: Tensor | float = 0.0) -> Tensor:
    """DDIM (Song et al. 2021, eq. 12): x_{t'} = α_{t'}·x̂0 + √(σ_{t'}² − s²)·ε̂ + s·z, with s = eta_sigma.

    With s = 0 it is deterministic; on the linear flow path it coincides with an Euler step.
    """
    eta_sigma = torch.as_tensor(eta_sigma, dtype=x0_hat.dtype, device=x0_hat.device)
    direction = torch.sqrt(torch.clamp(sigma_next**2 - eta_sigma**2, min=0.0))
    x_next = alpha_next * x0_hat + direction * eps_hat
    if noise is not None:
        x_next = x_next + eta_sigma * noise
    return x_next


def ddim_noise_scale(h: Tensor, sigma_next: Tensor, eta: float) -> Tensor:
    """s = η·σ_{t'}·√(1 − e^{−2h}), h = λ_{t'} − λ_t, the DDIM noise of Song et al. eq. 16 on any Gaussian path.

    η = 1 gives the DDPM posterior variance σ_{t'}²·(1 − (α_t·σ_{t'}/(α_{t'}·σ_t))²) (eq. A.3's β̃ on a
    DDPM path); η = 0 gives deterministic DDIM.
    """
    return eta * sigma_next * torch.sqrt(-torch.expm1(-2 * h))


def log_snr(alpha: Tensor, sigma: Tensor) -> Tensor:
    """λ = log(α/σ), the time variable of DPM-Solver (Lu et al. 2022); +∞ at the clean end, −∞ at pure noise."""
    return torch.log(alpha) - torch.log(sigma)


def dpm_solver_pp_step(x_t: Tensor, x0_hat: Tensor, sigma_ratio: Tensor, alpha_next: Tensor, h: Tensor,
                       x0_prev: Tensor | None = None, h_prev: Tensor | None = None) -> Tensor:
    """DPM-Solver++ in data prediction (Lu et al. 2022b, eqs. 9 and Algorithm 2, "2M" with the midpoint form).

    First order (DDIM): x_{t'} = (σ_{t'}/σ_t)·x_t − α_{t'}·(e^{−h} − 1)·x̂0, h = λ_{t'} − λ_t.
    Second order, with the previous step's x̂0 and its step h_prev = λ_t − λ_prev (r = h_prev / h):
    D = x̂0 + (x̂0 − x̂0_prev)/(2r) replaces x̂0.
    """
    if x0_prev is not None:
        x0_hat = x0_hat + 0.5 * (x0_hat - x0_prev) / (h_prev / h)
    return sigma_ratio * x_t - alpha_next * torch.expm1(-h) * x0_hat


def euler_step(x_t: Tensor, velocity: Tensor, dt: Tensor | float) -> Tensor:
    """x_{t+dt} = x_t + dt·u(x_t, t) (spec Algorithm B.2, flow matching)."""
    return x_t + dt * velocity


def heun_step(x_t: Tensor, velocity: Tensor, velocity_next: Tensor, dt: Tensor | float) -> Tensor:
    """Heun's second-order step (EDM Algorithm 1): average the slopes at both ends of the step."""
    return x_t + dt * 0.5 * (velocity + velocity_next)
