"""Time grids: the rule now lives on the path (`GaussianPath.grid` and its time methods).

These functions forward to the path and go away once every caller asks the path itself.
"""

from __future__ import annotations

from typing import Sequence

from .defaults import GRID_STEPS
from .errors import UserError
from .paths import GaussianPath

DEFAULT_STEPS = GRID_STEPS


def default_grid(path: GaussianPath, steps: int | None = None) -> list:
    return path.grid(GRID_STEPS if steps is None else steps)


def check_i_start(i_start: int, grid: Sequence) -> int:
    """An i_start from which at least one step remains: 0 ≤ i_start ≤ len(grid) − 2."""
    last = len(grid) - 2
    if isinstance(i_start, bool) or not isinstance(i_start, int) or not 0 <= i_start <= last:
        raise UserError(f"i_start must be an integer from 0 to {last} on a {last + 1}-step grid, not {i_start!r}")
    return i_start


def is_noisier(path: GaussianPath, t, than) -> bool:
    return path.is_noisier(t, than)


def parse_time(path: GaussianPath, value):
    return path.parse_time(value)


def time_at_noise(path: GaussianPath, fraction: float):
    return path.time_at_noise(fraction)


def continue_grid(path: GaussianPath, t, grid: Sequence) -> list:
    return path.continue_grid(t, grid)
