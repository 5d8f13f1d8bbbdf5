"""The Part B training objectives as pure functions: all randomness is passed in.

Images are (N, C, H, W) in [0, 1] (spec §1.4). Every loss is the mean squared error over all
pixels of the batch (the course's ``F.mse_loss``), and each function returns it as a 0-dim tensor.

| function          | input to the net                       | target     | spec       |
|-------------------|----------------------------------------|------------|------------|
| `denoise_loss`    | z = x + σ·ε                            | x          | B.1, B.2   |
| `pure_noise_loss` | z = ε                                  | x          | §3.5       |
| `ddpm_loss`       | x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε, t/T (, c) | ε          | B.4, Alg. B.1/B.3 (FA24) |
| `flow_loss`       | x_t = t·x0 + (1 − t)·ε, t (, c)         | x0 − ε     | B.3–B.5, Alg. B.1/B.3 (FA25) |

Both noisy inputs are the path's own forward process `path.add_noise(x0, ε, t)`, with x0 the data
on every path (the spec's flow notation calls the data x1 and the noise x0). Time conventions
(design habit 4): `t_index` is an integer in {1, …, T} on the DDPM path and the net sees
t_index / T; flow time `t` is a float in [0, 1] with t = 0 noise and t = 1 data.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..paths import DiscretePath, FlowPath


def denoise_loss(net: nn.Module, x: Tensor, noise: Tensor, sigma: float) -> Tensor:
    """‖D_θ(x + σ·ε) − x‖² (spec B.1 with z from B.2)."""
    return F.mse_loss(net(x + sigma * noise), x)


def pure_noise_loss(net: nn.Module, x: Tensor, noise: Tensor) -> Tensor:
    """‖D_θ(ε) − x‖² (spec §3.5): the best such net outputs the mean training image."""
    return F.mse_loss(net(noise), x)


def ddpm_loss(net: nn.Module, path: DiscretePath, x0: Tensor, t_index: Tensor, noise: Tensor,
              c: Tensor | None = None) -> Tensor:
    """‖ε − ε_θ(x_t, t/T[, c])‖² with x_t = path.add_noise(x0, ε, t) (spec B.4, Algorithms B.1/B.3).

    t_index: (N,) int64 in {1, …, T}; index 0 is the clean image (ᾱ_0 = 1) and is never trained on.
    """
    x_t = path.add_noise(x0, noise, t_index)
    t = path.model_time(t_index).to(x0.device)
    return F.mse_loss(_call(net, x_t, t, c), noise)


def flow_loss(net: nn.Module, path: FlowPath, x0: Tensor, noise: Tensor, t: Tensor,
              c: Tensor | None = None) -> Tensor:
    """‖(x0 − ε) − u_θ(x_t, t[, c])‖² with x_t = path.add_noise(x0, ε, t) (spec B.3–B.5, Alg. B.1/B.3).

    t: (N,) in [0, 1], 0 = noise, 1 = data; the target x0 − ε is dx_t/dt on this path.
    """
    x_t = path.add_noise(x0, noise, t)
    return F.mse_loss(_call(net, x_t, t.to(x0.dtype), c), x0 - noise)


def class_condition(labels: Tensor, num_classes: int, p_uncond: float, generator: torch.Generator) -> Tensor:
    """One-hot rows (N, K) with each row zeroed independently with probability p_uncond (spec B.3).

    The zero row is the null class that classifier-free guidance uses at sampling time; the keep
    mask is drawn from `generator` (on its device), so the dropout is reproducible.
    """
    return one_hot_rows(labels, num_classes, class_dropout(labels.shape[0], p_uncond, generator))


def class_dropout(n: int, p_uncond: float, generator: torch.Generator) -> Tensor:
    """(n,) bool, True where a label is kept: each dropped with probability p_uncond (spec B.3)."""
    return torch.rand(n, generator=generator, device=generator.device) >= p_uncond


def one_hot_rows(labels: Tensor, num_classes: int, keep: Tensor) -> Tensor:
    """(N, K) float one-hot rows of `labels`, zero where `keep` is False (the null class)."""
    return F.one_hot(labels, num_classes).float() * keep[:, None].to(labels.device)


def _call(net: nn.Module, x: Tensor, t: Tensor, c: Tensor | None) -> Tensor:
    return net(x, t) if c is None else net(x, t, c)
