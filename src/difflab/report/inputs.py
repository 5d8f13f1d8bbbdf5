"""The tour's test inputs: which picture plays the course's Campanile, web image and drawings.

The Campanile is not shipped, so every input is made or found offline (issue #6, point 5):

| role (spec §4)              | text models (IF, 64 px RGB)          | 28-px digit models (MNIST)                  |
|-----------------------------|--------------------------------------|---------------------------------------------|
| test image (A1.1–A1.7.3a)   | ``builtin:rocket`` (a tall subject)  | a test digit, ``digit:7:2``                 |
| own images (A1.7b, …)       | ``builtin:chelsea``, ``builtin:coffee`` | two more test digits                     |
| web image (A1.7.1a)         | ``builtin:astronaut``                | a real photo, greyscale, 28 px (``builtin:camera``) |
| hand-drawn (A1.7.1b)        | ``sketch:house``, ``sketch:tree``    | digits drawn here (`draw_digit`): ``drawn:4``, ``drawn:2`` |

Specs are strings: anything `difflab.image_inputs.load_input` reads (a file, ``builtin:``,
``sketch:``, ``digit:CLASS:K``), plus ``drawn:D`` — a digit D drawn by `difflab.data.draw_digit` with thick,
wobbly strokes like a person's (white on black, centred in a 20-px box as MNIST's digits are).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import draw_digit
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
