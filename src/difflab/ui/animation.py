"""An animation that turns an anagram into its view: each pixel travels to where the view puts it.

A permutation view moves input pixel ``source[k]`` to position k (`PixelPermutation.indices`);
frame s ∈ [0, 1] draws every pixel, as a block of `scale`×`scale` screen pixels, part of the way:
rotations (rot90/180/270) turn about the centre by s times their angle, other permutations move in
straight lines (a flip folds like a card, a jigsaw's pieces fly to their slots). Views that are not
permutations (negate) cross-fade. The animation goes there, holds, and comes back.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..atomic import atomic_write
from ..data import to_pil
from ..illusions.anagrams import view_clean
from ..illusions.views import PixelPermutation, View

ROTATIONS = {"rot90": 90.0, "rot180": 180.0, "rot270": 270.0}


def _positions(view: PixelPermutation, h: int, w: int, s: float) -> np.ndarray:
    """(H·W, 2) row/column of each input pixel at fraction s of the way to its place in the view."""
    source = view.indices(h, w)[0].numpy()
    target = np.empty(h * w, dtype=np.int64)
    target[source] = np.arange(h * w)  # input pixel source[k] ends at k
    start = np.stack(np.divmod(np.arange(h * w), w), axis=1).astype(np.float64)
    end = np.stack(np.divmod(target, w), axis=1).astype(np.float64)
    if view.name in ROTATIONS:  # torch.rot90 turns counter-clockwise on screen
        angle = math.radians(ROTATIONS[view.name]) * s
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        d = start - centre
        rows = d[:, 0] * math.cos(angle) - d[:, 1] * math.sin(angle)
        cols = d[:, 0] * math.sin(angle) + d[:, 1] * math.cos(angle)
        return np.stack([rows, cols], axis=1) + centre
    return (1 - s) * start + s * end


def _moved(pixels: np.ndarray, view: PixelPermutation, s: float, scale: int) -> np.ndarray:
    """pixels (H, W, C) uint8 → (H·scale, W·scale, C) with every pixel at its position at s."""
    h, w, c = pixels.shape
    canvas = np.zeros((h * scale, w * scale, c), dtype=np.uint8)
    spots = np.rint(_positions(view, h, w, s) * scale).astype(np.int64)
    spots = np.clip(spots, 0, [h * scale - scale, w * scale - scale])
    offsets = np.arange(scale)
    rows = spots[:, 0, None, None] + offsets[None, :, None]
    cols = spots[:, 1, None, None] + offsets[None, None, :]
    canvas[rows, cols] = pixels.reshape(h * w, 1, 1, c)
    return canvas


def turning_frames(image: torch.Tensor, view: View, value_range: tuple[float, float],
                   count: int = 16, min_size: int = 224) -> list[Image.Image]:
    """Frames from the image (1, C, H, W) to the image seen through `view`, at ≥ min_size pixels."""
    h, w = image.shape[-2:]
    scale = max(1, -(-min_size // min(h, w)))
    steps = [0.5 - 0.5 * math.cos(math.pi * i / (count - 1)) for i in range(count)]  # ease in and out
    if isinstance(view, PixelPermutation):
        pixels = np.asarray(to_pil(image, value_range))
        pixels = pixels[..., None] if pixels.ndim == 2 else pixels
        frames = [_moved(pixels, view, s, scale) for s in steps]
        return [Image.fromarray(f[..., 0] if f.shape[2] == 1 else f) for f in frames]
    seen = view_clean(view, image, value_range)
    big = (w * scale, h * scale)
    return [to_pil((1 - s) * image + s * seen, value_range).resize(big, Image.Resampling.NEAREST) for s in steps]


def save_turning_gif(image: torch.Tensor, view: View, value_range: tuple[float, float],
                     path: str | os.PathLike, frame_ms: int = 70, hold_ms: int = 900) -> Path:
    """The image turning into its view and back, looping, as a GIF (written atomically)."""
    there = turning_frames(image, view, value_range)
    frames = there + there[-2:0:-1]
    durations = [frame_ms] * len(frames)
    durations[0] = durations[len(there) - 1] = hold_ms
    path = Path(path)
    with atomic_write(path) as handle:
        frames[0].save(handle, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                       loop=0, optimize=False)
    return path
