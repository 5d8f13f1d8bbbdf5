"""Pictures of a process: a step hook that keeps x_t and x̂0, and GIF / frame-strip writers.

`FrameRecorder` is a `sample_loop` hook: at each step it keeps the input x_t, its one-step
estimate x̂0 and the time t; `frames(every)` picks every k-th step counted from the first one
recorded (the course's "every 5th loop" from i_start = 10 is t = 690, 540, 390, 240, 90) and
ends with the final image. A frame is one picture: the batch's x_t in the top row, x̂0 below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .data.display import display_zoom, make_grid, save_gif as write_gif, save_image, to_pil, zoomed
from .sampling import StepState


@dataclass
class Frame:
    """x_t at time t (N, C, H, W) and the x̂0 predicted from it."""

    index: int
    t: float
    x_t: Tensor
    x0_hat: Tensor


class FrameRecorder:
    """Keeps every step's (t, x_t, x̂0) on the CPU; the loop's final image is kept as `final`.

    keep=False keeps nothing (for a caller that only watches); `on_step(state)`, if given, sees
    every step first (a live view, or a cancel check that raises).
    """

    def __init__(self, keep: bool = True, on_step: Callable[[StepState], None] | None = None):
        self.keep, self.on_step = keep, on_step
        self.steps: list[Frame] = []
        self.final: Frame | None = None

    def __call__(self, state: StepState) -> None:
        if self.on_step is not None:
            self.on_step(state)
        if not self.keep:
            return
        self.steps.append(Frame(state.index, state.t, state.x_t.detach().cpu(), state.x0_hat.detach().cpu()))
        end = state.x_next.detach().cpu()
        self.final = Frame(state.index + 1, state.t_next, end, end)

    def frames(self, every: int = 1) -> list[Frame]:
        """Every `every`-th recorded step, then the final image (once)."""
        if every < 1:
            raise ValueError(f"every must be ≥ 1, got {every}")
        picked = self.steps[::every]
        return picked + ([self.final] if self.final is not None else [])


def frame_picture(frame: Frame, padding: int = 1) -> Tensor:
    """(C, H', W'): x_t of each image on the top row, x̂0 below."""
    n = frame.x_t.shape[0]
    return make_grid(torch.cat([frame.x_t, frame.x0_hat]), nrow=n, padding=padding)


def save_gif(frames: list[Frame], path: str | os.PathLike, value_range: tuple[float, float],
             duration_ms: int = 120, hold_ms: int = 1000, loop: int = 0) -> Path:
    """An animated GIF of the frames (last one held `hold_ms`), zoomed as figures are (`display_zoom`), atomically."""
    if not frames:
        raise ValueError("no frames to write")
    zoom = display_zoom(frames[0].x_t.shape[-1])
    pictures = [zoomed(to_pil(frame_picture(f), value_range), zoom) for f in frames]
    return write_gif(pictures, path, duration_ms, hold_ms, loop=loop)


def save_strip(frames: list[Frame], path: str | os.PathLike, value_range: tuple[float, float]) -> Path:
    """The frames left to right in one PNG (each frame: x_t above x̂0), zoomed as figures are."""
    pictures = torch.stack([frame_picture(f) for f in frames])
    return save_image(make_grid(pictures, nrow=len(frames), padding=2), path, value_range,
                      zoom=display_zoom(frames[0].x_t.shape[-1]))
