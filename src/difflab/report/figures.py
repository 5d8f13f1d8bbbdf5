"""Figures for report sections: labelled image grids as PNG, frame sequences as GIF.

Images come in as tensors in a known value range — (N, C, H, W), (C, H, W) or (H, W), C = 1 or 3 —
and are shown with the course's display transform: map value_range to [0, 1] and clip. Small
images are enlarged by an integer zoom (nearest neighbour, so pixels stay pixels) before labels are
drawn, so that captions stay sharp. Labels are drawn with Pillow's own font, which covers ASCII
only: write "sigma", not "σ", inside images (captions in the page can use any character).

The display transform (`to_pixels`) and the PNG and GIF writers (`save_png`, `save_gif`) are
difflab's one set, from `difflab.data.display`; files are written atomically, and the same tensors
give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

from ..data.display import save_gif, save_png, to_pixels

__all__ = ["auto_zoom", "grid_figure", "save_gif", "save_png", "to_pixels"]

PAD = 4
BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)


def auto_zoom(size: int, target: int = 112) -> int:
    """The integer zoom that brings a `size`-pixel tile near `target` pixels (28 → 4, 64 → 2)."""
    return max(1, round(target / size))


def _font(size: int = 13):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font) -> tuple[int, int]:
    """Width and height of `text` drawn at (0, 0), from the origin (so nothing is cut off)."""
    _, _, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right, bottom


def grid_figure(rows: Sequence[torch.Tensor], value_range: tuple[float, float] = (-1.0, 1.0),
                col_labels: Sequence[str] | None = None, row_labels: Sequence[str] | None = None,
                zoom: int | None = None) -> Image.Image:
    """A grid: row r shows the images rows[r] (N_r, C, H, W) left to right, with optional labels.

    Column labels go above the columns, row labels to the left. Every tile is zoomed by `zoom`
    (default: `auto_zoom` of the tile height). Returns an RGB PIL image on a white background.
    """
    tiles = [to_pixels(row, value_range) for row in rows]
    if not tiles:
        raise ValueError("a grid needs at least one row")
    height, width = tiles[0].shape[1:3]
    zoom = zoom or auto_zoom(height)
    th, tw = height * zoom, width * zoom
    columns = max(t.shape[0] for t in tiles)
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_h = max((_text_size(probe, s, font)[1] for s in col_labels or []), default=0)
    top = label_h + 2 * PAD if col_labels else PAD
    left = max((_text_size(probe, s, font)[0] for s in row_labels or []), default=0)
    left = left + 2 * PAD if row_labels else PAD
    canvas = Image.new("RGB", (left + columns * (tw + PAD), top + len(tiles) * (th + PAD)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(col_labels or []):
        w = _text_size(draw, label, font)[0]
        draw.text((left + c * (tw + PAD) + (tw - w) // 2, PAD), label, fill=INK, font=font)
    for r, row in enumerate(tiles):
        y = top + r * (th + PAD)
        if row_labels and r < len(row_labels):
            h = _text_size(draw, row_labels[r], font)[1]
            draw.text((PAD, y + (th - h) // 2), row_labels[r], fill=INK, font=font)
        for c, tile in enumerate(row):
            if tile.shape[:2] != (height, width):
                raise ValueError(f"all tiles must be {height}x{width}, got {tile.shape[0]}x{tile.shape[1]}")
            image = Image.fromarray(tile, "RGB").resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(image, (left + c * (tw + PAD), y))
    return canvas
