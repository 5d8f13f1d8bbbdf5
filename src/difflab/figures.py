"""Figures for reports: labelled image grids and curves, written atomically as PNG.

Small and generic on purpose; every part of difflab draws its deliverables with these:

* `save_grid(images, path, ncols, labels=…, row_labels=…, col_labels=…, title=…)` — a batch
  (N, C, H, W) with C = 1 (grey) or 3 (RGB), shown in row-major order;
* `save_curve(path, x, {"label": y, …}, log_y=True, …)` — line plots such as a loss curve;
* `save_figure(fig, path)` — any matplotlib `Figure`, atomically.

Images are clipped to `value_range` for display (pitfall 3/20) by difflab's one display transform
(`difflab.data.display`): (0, 1) for the course's MNIST, (−1, 1) for DeepFloyd IF. Only
`matplotlib.figure.Figure` is used (no pyplot), so nothing here touches global plotting state or
needs a display. Files are never overwritten unless asked.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .atomic import atomic_write
from .data.display import to_unit_range


def to_display(images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """(N, C, H, W) tensor → float32 array in [0, 1]: (N, H, W) for C = 1, (N, H, W, 3) for C = 3."""
    unit = to_unit_range(images, value_range)
    return unit[:, 0].numpy() if unit.shape[1] == 1 else unit.permute(0, 2, 3, 1).numpy()


def save_figure(fig: Figure, path: str | os.PathLike, overwrite: bool = False, dpi: int = 100) -> Path:
    """Render `fig` to PNG bytes and write them to `path` atomically."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(buffer.getvalue())
    return Path(path)


def save_grid(images: torch.Tensor, path: str | os.PathLike, ncols: int | None = None, *,
              labels: Sequence[str] | None = None, row_labels: Sequence[str] | None = None,
              col_labels: Sequence[str] | None = None, title: str | None = None,
              value_range: tuple[float, float] = (0.0, 1.0), cell: float = 1.1,
              overwrite: bool = False) -> Path:
    """Draw images (N, C, H, W) in a grid of `ncols` columns (default: one row) and save a PNG.

    labels: one caption per image; row_labels / col_labels: one per row / column of the grid.
    """
    pictures = to_display(images, value_range)
    n = len(pictures)
    ncols = max(1, min(ncols or n, n))
    nrows = math.ceil(n / ncols)
    for name, values, size in (("labels", labels, n), ("row_labels", row_labels, nrows),
                               ("col_labels", col_labels, ncols)):
        if values is not None and len(values) != size:
            raise ValueError(f"{name} needs {size} entries, got {len(values)}")
    fig = Figure(figsize=(cell * ncols + (0.6 if row_labels else 0), cell * nrows + (0.4 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= n:
            ax.axis("off")
            continue
        ax.imshow(pictures[index], cmap="gray" if pictures.ndim == 3 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        row, col = divmod(index, ncols)
        caption = labels[index] if labels is not None else (col_labels[col] if col_labels and row == 0 else None)
        if caption:
            ax.set_title(caption, fontsize=8)
        if row_labels is not None and col == 0:
            ax.set_ylabel(row_labels[row], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, overwrite=overwrite)


def save_curve(path: str | os.PathLike, x: Sequence[float], series: Mapping[str, Sequence[float]], *,
               xlabel: str = "step", ylabel: str = "", title: str | None = None, log_y: bool = False,
               overwrite: bool = False) -> Path:
    """Line plot of one or more series over `x` (e.g. per-iteration training loss, log y)."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for label, y in series.items():
        ax.plot(x[:len(y)], y, label=label, linewidth=0.8)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if len(series) > 1:
        ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path, overwrite=overwrite)
