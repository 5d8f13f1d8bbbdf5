"""Tensors shown as pictures: the one display transform, grids, PNG files and GIF animations.

`to_pixels` is the course's display transform, used by every picture difflab writes: images in
their value range ((-1, 1) for IF, (0, 1) for the course's MNIST) are mapped to [0, 1], clipped
(pitfall 3/20) and rounded to 8 bits. Files are written atomically and never silently overwritten.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..atomic import atomic_write
from ..errors import UserError


def to_unit_range(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """(N, C, H, W), (C, H, W) or (H, W) with C = 1 or 3, in value_range → (N, C, H, W) float32 in [0, 1].

    value_range maps to [0, 1]; values outside are clipped and NaN becomes 0.
    """
    x = images.detach().to("cpu", torch.float32)
    if x.ndim == 2:
        x = x[None, None]
    elif x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, C, H, W) with C = 1 or 3, got {tuple(images.shape)}")
    low, high = value_range
    return torch.nan_to_num((x - low) / (high - low)).clamp(0, 1)


def to_pixels(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0), *,
              grey_as_rgb: bool = True) -> np.ndarray:
    """Images as `to_unit_range` takes them → uint8 (N, H, W, C): RGB, or (N, H, W, 1) grey when not grey_as_rgb."""
    pixels = (to_unit_range(images, value_range) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return np.repeat(pixels, 3, axis=3) if grey_as_rgb and pixels.shape[3] == 1 else pixels


def to_pil(tensor: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Image.Image:
    """One image (C, H, W), (1, C, H, W) or (H, W) in value_range → PIL RGB (C=3) or L (C=1)."""
    if tensor.ndim == 4 and tensor.shape[0] != 1:
        raise ValueError(f"to_pil takes one image, got a batch of {tensor.shape[0]}; use make_grid")
    pixels = to_pixels(tensor, value_range, grey_as_rgb=False)[0]
    return Image.fromarray(pixels[..., 0], "L") if pixels.shape[2] == 1 else Image.fromarray(pixels, "RGB")


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) → one (C, H', W') image: `nrow` images per row, `padding` pixels around each.

    H' = rows·(H + padding) + padding and W' = min(nrow, N)·(W + padding) + padding, as in
    torchvision's make_grid (whose default pad_value is 0; ours, 1.0, is white in [0,1] and [-1,1]).
    """
    if images.ndim == 3:
        images = images[None]
    count, channels, height, width = images.shape
    columns = max(1, min(nrow, count))
    rows = math.ceil(count / columns)
    grid = images.new_full((channels, rows * (height + padding) + padding,
                            columns * (width + padding) + padding), pad_value)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


FIGURE_CELL_PX = 128  # the smallest picture a figure shows without zooming in (a 32-px emoji: ×4)


def display_zoom(image_size: int, cell: int = FIGURE_CELL_PX) -> int:
    """The integer factor that shows `image_size`-px pictures at ≥ `cell` px in a figure (1 when they are)."""
    return max(1, math.ceil(cell / max(image_size, 1)))


def zoomed(picture: Image.Image, zoom: int) -> Image.Image:
    """`picture` with every pixel repeated zoom × zoom times (nearest neighbour: exact, only bigger)."""
    return picture if zoom <= 1 else picture.resize((picture.width * zoom, picture.height * zoom),
                                                     Image.Resampling.NEAREST)


def save_image(images: torch.Tensor, path: str | os.PathLike, value_range: tuple[float, float] = (-1.0, 1.0),
               overwrite: bool = False, nrow: int | None = None, zoom: int = 1) -> Path:
    """Write one image (C, H, W)/(1, C, H, W), or a batch as a grid, to a PNG file, atomically.

    A batch of N > 1 becomes make_grid(images, nrow or ceil(sqrt(N))). zoom > 1 repeats every pixel
    zoom × zoom times (nearest neighbour: the pixels stay exact, only bigger). An existing file is
    replaced only with overwrite=True.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: images are saved as PNG; give the file a .png name")
    if images.ndim == 4 and images.shape[0] > 1:
        images = make_grid(images, nrow or math.ceil(math.sqrt(images.shape[0])))
    return save_png(zoomed(to_pil(images, value_range), zoom), path, overwrite)


def save_png(picture: Image.Image, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a PIL image as PNG, atomically."""
    with atomic_write(path, overwrite=overwrite) as handle:
        picture.save(handle, format="PNG")
    return Path(path)


def save_gif(frames: Sequence[Image.Image], path: str | os.PathLike, ms_per_frame: int = 120,
             hold_last_ms: int = 1000, overwrite: bool = False, loop: int = 0) -> Path:
    """An animated GIF of `frames` (PIL images of one size), the last one held longer, atomically.

    Grey (L) and RGB frames keep their mode (Pillow gives L a grey palette); other modes become RGB.
    loop = 0 repeats forever.
    """
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    durations = [ms_per_frame] * (len(frames) - 1) + [hold_last_ms]
    first, *rest = [f if f.mode in ("L", "RGB") else f.convert("RGB") for f in frames]
    with atomic_write(path, overwrite=overwrite) as handle:
        first.save(handle, format="GIF", save_all=True, append_images=rest, duration=durations, loop=loop,
                   optimize=False)
    return Path(path)
