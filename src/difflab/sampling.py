"""The one sampling loop and per-image noise; the solvers it drives live in `difflab.solvers`.

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
from .models.protocol import Denoiser
from .solvers import Solver, SolverState, bind, default_solver


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


def check_i_start(i_start: int, grid: Sequence) -> int:
    """A user's start index from which at least one step remains: 0 ≤ i_start ≤ len(grid) − 2."""
    last = len(grid) - 2
    if isinstance(i_start, bool) or not isinstance(i_start, int) or not 0 <= i_start <= last:
        raise UserError(f"i_start must be an integer from 0 to {last} on a {last + 1}-step grid, not {i_start!r}")
    return i_start


def sample_loop(denoiser: Denoiser, x: Tensor, timesteps: Sequence[float], cond: Tensor | None = None, *,
                solver: Solver | None = None, noise: NoiseSource | None = None, start: int = 0,
                hook: StepHook | None = None, progress: Callable | None = None) -> Tensor:
    """Run x from timesteps[start] to timesteps[-1] with `solver` (default: the course's) and return it.

    x must already be at time timesteps[start] (pure noise for start = 0, a noised image for
    SDEdit). ``hook(state)`` runs after every step and may return a replacement for x_next
    (inpainting's projection); ``progress`` wraps the step range (e.g. a tqdm factory). The
    solver's memory starts empty at `start` and its last step is told so (``final``).
    """
    solver = solver or default_solver(denoiser.path)
    solver.check(denoiser.path)
    if not 0 <= start < len(timesteps) - 1:
        raise ValueError(f"start index {start} is outside 0..{len(timesteps) - 2}")
    denoise, state, last = bind(denoiser, cond), SolverState(), len(timesteps) - 2
    steps = range(start, len(timesteps) - 1)
    for i in progress(steps) if progress else steps:
        t, t_next = timesteps[i], timesteps[i + 1]
        x_next, state = solver.step(denoise, x, t, t_next, state, noise=noise, final=i == last)
        if hook is not None:
            replaced = hook(StepState(i, t, t_next, x, x_next, state.x0))
            x_next = x_next if replaced is None else replaced
        x = x_next
    return x
