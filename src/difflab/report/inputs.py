"""The tour's test inputs: which picture plays the course's Campanile, web image and drawings.

The Campanile is not shipped, so every input is made or found offline (issue #6, point 5):

| role (spec §4)              | text models (IF, 64 px RGB)          | 28-px digit models (MNIST)                  |
|-----------------------------|--------------------------------------|---------------------------------------------|
| test image (A1.1–A1.7.3a)   | ``builtin:rocket`` (a tall subject)  | a test digit, ``digit:7:2``                 |
| own images (A1.7b, …)       | ``builtin:chelsea``, ``builtin:coffee`` | two more test digits                     |
| web image (A1.7.1a)         | ``builtin:astronaut``                | a real photo, greyscale, 28 px (``builtin:camera``) |
| hand-drawn (A1.7.1b)        | ``sketch:house``, ``sketch:tree``    | digits drawn here (`draw_digit`): ``drawn:4``, ``drawn:2`` |

Specs are strings: anything `difflab.image_inputs.load_input` reads (a file, ``builtin:``,
``sketch:``, ``digit:CLASS:K``), plus ``drawn:D`` — a digit D drawn by `draw_digit` with thick,
wobbly strokes like a person's (white on black, centred in a 20-px box as MNIST's digits are).
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ..errors import UserError
from ..image_inputs import load_input as image_input


@dataclass(frozen=True)
class Inputs:
    """The pictures of one model family; `masks` are (top, left, height, width) rectangles in model pixels."""

    test: str
    own: tuple[str, str]
    web: str
    drawn: tuple[str, str]
    test_mask: tuple[int, int, int, int]
    own_masks: tuple[tuple[int, int, int, int], tuple[int, int, int, int]]
    mask_note: str


PHOTO_INPUTS = Inputs(
    test="builtin:rocket", own=("builtin:chelsea", "builtin:coffee"), web="builtin:astronaut",
    drawn=("sketch:house", "sketch:tree"),
    test_mask=(2, 24, 18, 18),  # the staff's Campanile mask: rows 2–19, columns 24–41 of 64
    own_masks=((14, 36, 18, 20), (34, 6, 26, 30)),
    mask_note="the test photo uses the staff's Campanile mask (rows 2–19, columns 24–41 of 64 px: the top of "
              "the tower, here the rocket's nose); the cat's eyes and the coffee cup are masked in the others")

DIGIT_INPUTS = Inputs(
    test="digit:7:2", own=("digit:3:0", "digit:9:0"), web="builtin:camera", drawn=("drawn:4", "drawn:2"),
    test_mask=(1, 10, 8, 8),  # the staff mask scaled from 64 to 28 px: rows 1–8, columns 10–17
    own_masks=((4, 4, 20, 10), (15, 4, 12, 20)),
    mask_note="the test digit uses the staff's Campanile mask scaled to 28 px (rows 1–8, columns 10–17: the top "
              "of the figure); the 3 loses its left half and the 9 its tail")


def inputs_for(image_shape: tuple[int, int, int]) -> Inputs:
    """Digits for 1-channel 28-px models, photos and sketches for everything else."""
    return DIGIT_INPUTS if tuple(image_shape) == (1, 28, 28) else PHOTO_INPUTS


def load_input(spec: str, model) -> torch.Tensor:
    """(1, C, H, W) at the model's size and value range: ``drawn:D`` here, anything else as the CLI reads it."""
    if spec.startswith("drawn:"):
        digit = spec.removeprefix("drawn:")
        if not (digit.isdigit() and len(digit) == 1):
            raise UserError(f"{spec!r}: write drawn:D with D a digit 0-9")
        c, h, w = model.image_shape
        pixels = np.asarray(draw_digit(int(digit), h), dtype=np.float32) / 255.0
        low, high = model.value_range
        return (low + (high - low) * torch.from_numpy(pixels))[None, None].expand(1, c, h, w).clone()
    return image_input(spec, model)


# Strokes of each digit: polylines in a unit box (x right, y down), drawn with a wobbly pen.
def _arc(cx, cy, rx, ry, start, end, steps=18):
    return [(cx + rx * math.cos(math.radians(start + (end - start) * k / steps)),
             cy + ry * math.sin(math.radians(start + (end - start) * k / steps))) for k in range(steps + 1)]


_STROKES = {
    0: [_arc(0.5, 0.5, 0.3, 0.46, -90, 275)],
    1: [[(0.38, 0.2), (0.56, 0.04), (0.52, 0.96)]],
    2: [_arc(0.5, 0.3, 0.3, 0.26, 190, 370) + [(0.62, 0.6), (0.16, 0.95), (0.86, 0.93)]],
    3: [_arc(0.47, 0.27, 0.3, 0.23, 200, 450), _arc(0.47, 0.72, 0.33, 0.25, 270, 500)],
    4: [[(0.58, 0.96), (0.6, 0.04), (0.12, 0.64), (0.88, 0.64)]],
    5: [[(0.8, 0.05), (0.3, 0.06), (0.26, 0.44)] + _arc(0.5, 0.68, 0.32, 0.28, 230, 500)],
    6: [[(0.7, 0.04), (0.36, 0.4)] + _arc(0.52, 0.7, 0.3, 0.26, 200, 560)],
    7: [[(0.12, 0.08), (0.86, 0.08), (0.42, 0.96)]],
    8: [_arc(0.5, 0.27, 0.26, 0.23, 90, 450), _arc(0.5, 0.73, 0.32, 0.25, -90, 270)],
    9: [_arc(0.5, 0.3, 0.3, 0.26, 0, 360) + [(0.76, 0.5), (0.6, 0.96)]],
}


def draw_digit(digit: int, size: int = 28, width: float = 0.13) -> Image.Image:
    """A hand-drawn-looking digit: greyscale `size`², white on black, in the centre 5/7 of the canvas.

    Deterministic (the wobble's generator is seeded by the digit). `width` is the stroke width as a
    fraction of the digit's box. Drawn 8× larger, softened and downsampled, so edges are antialiased
    like MNIST's.
    """
    if digit not in _STROKES:
        raise UserError(f"no drawing of {digit!r}; digits 0-9 only")
    scale = 8 * size
    box, margin = scale * 5 / 7, scale / 7
    rng = random.Random(zlib.crc32(f"digit-{digit}".encode()))
    image = Image.new("L", (scale, scale), 0)
    draw = ImageDraw.Draw(image)
    pen = max(1, round(width * box))
    for stroke in _STROKES[digit]:
        points, drift = [], [0.0, 0.0]
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.03))
            for k in range(steps):
                drift = [0.75 * d + rng.uniform(-0.012, 0.012) for d in drift]
                points.append((margin + box * (x0 + (x1 - x0) * k / steps + drift[0]),
                               margin + box * (y0 + (y1 - y0) * k / steps + drift[1])))
        points.append((margin + box * (stroke[-1][0] + drift[0]), margin + box * (stroke[-1][1] + drift[1])))
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    image = image.filter(ImageFilter.GaussianBlur(scale / 112))
    return image.resize((size, size), Image.Resampling.LANCZOS)
