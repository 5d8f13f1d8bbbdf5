"""Time grids: one rule for every model, so that a grid index means the same on every path.

Every Part A procedure runs on a grid of N + 1 times from the noisiest to the cleanest, with
N = ``steps`` (default 33: the course's 34-entry list). A grid index i (SDEdit's ``i_start``)
is the point where i of the N steps are done, on any model:

* Discrete paths (DeepFloyd IF, the course DDPM): the uniform integer grid of N strides that
  reaches furthest into the noise — stride = T_max // N, times stride·N, stride·(N − 1), …, 0,
  where T_max is the largest timestep of the path (IF: 999, course DDPM: 300). For IF and N = 33
  this is exactly the course's ``strided_timesteps`` = [990, 960, …, 0] (spec §2.6); for the
  course DDPM it is [297, 288, …, 0] (stride 9); ``steps=300`` gives the course's full chain
  300, 299, …, 0 (Algorithm B.2) and ``steps=10`` gives 300, 270, …, 0.
* Flow paths: t_i = i / N (``flow_timesteps``), pure noise at t = 0 to data at t = 1.

The rule keeps the signal-to-noise ratio at a given index close across models: i_start = 10 is
t = 690 on IF (α/σ = 0.52), t = 207 on the course DDPM (0.55) and t = 10/33 on a flow model
(0.43), so `--i-start 10` is a comparably strong edit everywhere.

User-facing times (``--t``) are in the model's own convention: an integer index on discrete
paths (larger = noisier), a float in [0, 1) on flow paths (smaller = noisier).
"""

from __future__ import annotations

from typing import Sequence

from .errors import UserError
from .paths import DiscretePath, GaussianPath, flow_timesteps

DEFAULT_STEPS = 33


def max_time(path: GaussianPath) -> int:
    """The noisiest valid timestep of a discrete path (IF: 999, course DDPM: 300)."""
    if not isinstance(path, DiscretePath):
        raise ValueError("only discrete paths have a largest timestep index")
    return len(path.alphas_cumprod) - 1


def default_grid(path: GaussianPath, steps: int | None = None) -> list:
    """N + 1 times from the noisiest to the cleanest (see the module docstring for the rule)."""
    steps = DEFAULT_STEPS if steps is None else steps
    if not isinstance(steps, int) or steps < 1:
        raise UserError(f"--steps must be a positive integer, not {steps!r}")
    if not isinstance(path, DiscretePath):
        return flow_timesteps(steps)
    stride = max_time(path) // steps
    if stride < 1:
        raise UserError(f"--steps {steps} is more than this model's {max_time(path)} timesteps")
    return [stride * k for k in range(steps, -1, -1)]


def check_i_start(i_start: int, grid: Sequence) -> int:
    """An i_start from which at least one step remains: 0 ≤ i_start ≤ len(grid) − 2."""
    last = len(grid) - 2
    if isinstance(i_start, bool) or not isinstance(i_start, int) or not 0 <= i_start <= last:
        raise UserError(f"i_start must be an integer from 0 to {last} on a {last + 1}-step grid, not {i_start!r}")
    return i_start


def is_noisier(path: GaussianPath, t, than) -> bool:
    """Whether time t is strictly noisier than time `than` on this path."""
    return t > than if isinstance(path, DiscretePath) else t < than


def parse_time(path: GaussianPath, value) -> int | float:
    """A user-given time in the path's own convention, checked: one step must remain after it."""
    if isinstance(path, DiscretePath):
        top = max_time(path)
        try:
            t = int(str(value))
        except ValueError:
            raise UserError(f"t must be an integer timestep from 1 to {top} for this model, not {value!r}") from None
        if not 1 <= t <= top:
            raise UserError(f"t must be an integer timestep from 1 to {top} for this model, not {t}")
        return t
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise UserError(f"t must be a number in [0, 1) for this flow model (0 = noise), not {value!r}") from None
    if not 0 <= t < 1:
        raise UserError(f"t must be in [0, 1) for this flow model (0 = noise, 1 = clean), not {t}")
    return t


def time_at_noise(path: GaussianPath, fraction: float):
    """The time a `fraction` of the way from clean (0) to pure noise (1): IF 0.25 → t = 250."""
    if isinstance(path, DiscretePath):
        return max(1, round(fraction * path.num_train_steps))
    return 1.0 - fraction


def continue_grid(path: GaussianPath, t, grid: Sequence) -> list:
    """[t] followed by every grid time cleaner than t: strided denoising from any t (spec §2.6).

    When t is on the grid this is the grid from t's index on, so `iterative_denoise` from
    t = grid[i] is the course's loop from i_start = i.
    """
    return [t] + [s for s in grid if is_noisier(path, t, s)]
