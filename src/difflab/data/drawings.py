"""Drawings made here: hand-drawn-style sketches (`sketch:<name>`) and digits (the tour's ``drawn:D``).

Both are drawn with one `Pen`: thick strokes whose points drift by a smooth random walk, so lines
wobble like a person's. Every drawing is deterministic (its generator is seeded by its name) and
drawn larger than asked, then downsampled, so edges are antialiased.
"""

from __future__ import annotations

import math
import random
import zlib
from typing import Sequence

from PIL import Image, ImageDraw, ImageFilter

from ..errors import UserError

Point = tuple[float, float]


class Pen:
    """Wobbly, thick strokes on a PIL canvas; points are fractions of a box `scale` px wide at `origin`.

    Each segment is cut into steps about `step` long, and every step moves a drift that follows
    drift ← decay·drift + U(−jitter, jitter) (a smooth random walk), in box units. Stroke widths
    are in 1/`width_unit` of the box.
    """

    def __init__(self, draw: ImageDraw.ImageDraw, scale: float, rng: random.Random, origin: float = 0.0,
                 step: float = 0.02, decay: float = 0.7, jitter: float = 0.004, width_unit: float = 256):
        self.draw, self.scale, self.rng, self.origin = draw, scale, rng, origin
        self.step, self.decay, self.jitter, self.width_unit = step, decay, jitter, width_unit

    def _wobble(self, points: Sequence[Point]) -> list[Point]:
        out, drift = [], [0.0, 0.0]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / self.step))
            for k in range(steps):
                drift = [self.decay * d + self.rng.uniform(-self.jitter, self.jitter) for d in drift]
                out.append((x0 + (x1 - x0) * k / steps + drift[0], y0 + (y1 - y0) * k / steps + drift[1]))
        out.append((points[-1][0] + drift[0], points[-1][1] + drift[1]))
        return [(self.origin + self.scale * x, self.origin + self.scale * y) for x, y in out]

    def line(self, points: Sequence[Point], color, width: float = 5.0) -> None:
        """A polyline `width` units thick, with round joints and ends."""
        xy, px = self._wobble(list(points)), max(1, round(width * self.scale / self.width_unit))
        self.draw.line(xy, fill=color, width=px, joint="curve")
        for x, y in (xy[0], xy[-1]):
            self.draw.ellipse((x - px / 2, y - px / 2, x + px / 2, y + px / 2), fill=color)

    def shape(self, points: Sequence[Point], fill, outline=(40, 40, 40), width: float = 5.0) -> None:
        """A closed polygon: filled, then outlined with a wobbly stroke."""
        closed = list(points) + [points[0]]
        self.draw.polygon(self._wobble(closed), fill=fill)
        self.line(closed, outline, width)

    def circle(self, cx: float, cy: float, r: float, fill, outline=(40, 40, 40), width: float = 5.0) -> None:
        self.shape(arc(cx, cy, r, 0, 360)[:-1], fill, outline, width)


def arc(cx: float, cy: float, r: float, start: float, end: float, steps: int = 24,
        ry: float | None = None) -> list[Point]:
    """Points on a circle (an ellipse with vertical radius `ry`) from angle `start` to `end`.

    Angles in degrees, 0 = right, 90 = down (image coordinates).
    """
    ry = r if ry is None else ry
    angles = (math.radians(start + (end - start) * k / steps) for k in range(steps + 1))
    return [(cx + r * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _polar(cx: float, cy: float, r: float, degrees: float) -> Point:
    return cx + r * math.cos(math.radians(degrees)), cy + r * math.sin(math.radians(degrees))


# -- sketches: the course's hand-drawn test pictures, in colour on white ---------------------------

def _draw_house(pen: Pen) -> None:
    pen.line([(0.04, 0.86), (0.96, 0.86)], (60, 150, 60), 7)
    pen.shape([(0.22, 0.52), (0.62, 0.52), (0.62, 0.86), (0.22, 0.86)], (245, 225, 180), (120, 70, 30))
    pen.shape([(0.52, 0.42), (0.52, 0.30), (0.58, 0.30), (0.58, 0.47)], (170, 70, 50), (110, 40, 30))
    pen.shape([(0.16, 0.53), (0.42, 0.28), (0.68, 0.53)], (205, 55, 45), (120, 30, 25))
    pen.shape([(0.37, 0.86), (0.37, 0.68), (0.47, 0.68), (0.47, 0.86)], (140, 90, 50), (90, 50, 20))
    pen.shape([(0.26, 0.58), (0.34, 0.58), (0.34, 0.66), (0.26, 0.66)], (170, 210, 245), (60, 60, 120))
    pen.circle(0.80, 0.18, 0.08, (255, 210, 40), (235, 150, 20))
    for k in range(8):
        pen.line([_polar(0.80, 0.18, 0.11, 45 * k), _polar(0.80, 0.18, 0.15, 45 * k)], (235, 150, 20), 4)


def _draw_tree(pen: Pen) -> None:
    pen.line([(0.04, 0.88), (0.96, 0.88)], (60, 150, 60), 7)
    pen.shape([(0.45, 0.88), (0.47, 0.55), (0.53, 0.55), (0.56, 0.88)], (130, 85, 45), (80, 50, 20))
    for cx, cy, r in ((0.36, 0.46, 0.14), (0.64, 0.46, 0.14), (0.5, 0.34, 0.2)):
        pen.circle(cx, cy, r, (90, 170, 70), (40, 100, 40))
    for cx, cy in ((0.42, 0.30), (0.60, 0.38), (0.35, 0.48), (0.55, 0.52), (0.68, 0.50)):
        pen.circle(cx, cy, 0.025, (220, 40, 40), (150, 20, 20), 3)


def _draw_face(pen: Pen) -> None:
    pen.circle(0.5, 0.53, 0.33, (250, 215, 180), (150, 90, 60), 6)
    for k in range(7):
        x = 0.30 + 0.066 * k
        pen.line([(x, 0.26 + 0.03 * abs(k - 3) / 3), (x + 0.03, 0.15 + 0.02 * abs(k - 3))], (90, 55, 25), 6)
    pen.circle(0.38, 0.46, 0.04, (50, 40, 40), (30, 30, 30), 3)
    pen.circle(0.62, 0.46, 0.04, (50, 40, 40), (30, 30, 30), 3)
    pen.line([(0.50, 0.50), (0.46, 0.62), (0.52, 0.63)], (150, 90, 60), 4)
    pen.line(arc(0.5, 0.62, 0.14, 25, 155), (200, 40, 50), 6)


def _draw_boat(pen: Pen) -> None:
    pen.circle(0.17, 0.17, 0.07, (255, 210, 40), (235, 150, 20))
    pen.shape([(0.16, 0.68), (0.84, 0.68), (0.72, 0.82), (0.28, 0.82)], (140, 85, 40), (80, 45, 20))
    pen.line([(0.5, 0.68), (0.5, 0.16)], (80, 45, 20), 5)
    pen.shape([(0.53, 0.20), (0.53, 0.63), (0.80, 0.63)], (245, 245, 250), (70, 70, 90))
    pen.shape([(0.47, 0.26), (0.47, 0.63), (0.25, 0.63)], (220, 60, 50), (120, 30, 25))
    pen.shape([(0.5, 0.16), (0.62, 0.19), (0.5, 0.22)], (250, 200, 40), (120, 90, 20), 3)
    for y in (0.80, 0.88, 0.96):
        pen.line([(x / 20, y + 0.02 * math.sin(x * 1.3)) for x in range(21)], (40, 110, 210), 6)


def _draw_flower(pen: Pen) -> None:
    pen.line([(0.5, 0.84), (0.48, 0.65), (0.51, 0.38)], (50, 140, 50), 7)
    pen.shape([(0.49, 0.70), (0.62, 0.58), (0.68, 0.62), (0.56, 0.72)], (100, 190, 80), (40, 110, 40), 4)
    for k in range(6):
        pen.circle(*_polar(0.5, 0.33, 0.12, 60 * k), 0.075, (240, 120, 170), (170, 50, 110))
    pen.circle(0.5, 0.33, 0.07, (255, 205, 40), (200, 130, 20))
    pen.shape([(0.32, 0.82), (0.68, 0.82), (0.63, 0.97), (0.37, 0.97)], (200, 110, 60), (120, 60, 30))


_SKETCHES = {"house": _draw_house, "tree": _draw_tree, "face": _draw_face,
             "boat": _draw_boat, "flower": _draw_flower}
SKETCHES = tuple(_SKETCHES)


def draw_sketch(name: str, size: int = 256) -> Image.Image:
    """A hand-drawn-style RGB picture (`size`×`size`, white background) like the course's drawings.

    Drawn at twice the size with the pen's default wobble, seeded by the name.
    """
    if name not in _SKETCHES:
        raise UserError(f"unknown sketch {name!r}; choose one of {', '.join(SKETCHES)}")
    canvas = 2 * size
    image = Image.new("RGB", (canvas, canvas), "white")
    _SKETCHES[name](Pen(ImageDraw.Draw(image), canvas, random.Random(zlib.crc32(name.encode()))))
    return image.resize((size, size), Image.Resampling.LANCZOS)


# -- digits: white strokes on black, centred in a 5/7 box as MNIST's are ---------------------------

def _oval(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> list[Point]:
    return arc(cx, cy, rx, start, end, steps=18, ry=ry)


# Strokes of each digit: polylines in a unit box (x right, y down).
_STROKES = {
    0: [_oval(0.5, 0.5, 0.3, 0.46, -90, 275)],
    1: [[(0.38, 0.2), (0.56, 0.04), (0.52, 0.96)]],
    2: [_oval(0.5, 0.3, 0.3, 0.26, 190, 370) + [(0.62, 0.6), (0.16, 0.95), (0.86, 0.93)]],
    3: [_oval(0.47, 0.27, 0.3, 0.23, 200, 450), _oval(0.47, 0.72, 0.33, 0.25, 270, 500)],
    4: [[(0.58, 0.96), (0.6, 0.04), (0.12, 0.64), (0.88, 0.64)]],
    5: [[(0.8, 0.05), (0.3, 0.06), (0.26, 0.44)] + _oval(0.5, 0.68, 0.32, 0.28, 230, 500)],
    6: [[(0.7, 0.04), (0.36, 0.4)] + _oval(0.52, 0.7, 0.3, 0.26, 200, 560)],
    7: [[(0.12, 0.08), (0.86, 0.08), (0.42, 0.96)]],
    8: [_oval(0.5, 0.27, 0.26, 0.23, 90, 450), _oval(0.5, 0.73, 0.32, 0.25, -90, 270)],
    9: [_oval(0.5, 0.3, 0.3, 0.26, 0, 360) + [(0.76, 0.5), (0.6, 0.96)]],
}


def draw_digit(digit: int, size: int = 28, width: float = 0.13) -> Image.Image:
    """A hand-drawn-looking digit: greyscale `size`², white on black, in the centre 5/7 of the canvas.

    `width` is the stroke width as a fraction of the digit's box. Drawn 8× larger with a bolder
    wobble than the sketches, softened and downsampled, so edges are antialiased like MNIST's.
    """
    if digit not in _STROKES:
        raise UserError(f"no drawing of {digit!r}; digits 0-9 only")
    scale = 8 * size
    image = Image.new("L", (scale, scale), 0)
    pen = Pen(ImageDraw.Draw(image), scale * 5 / 7, random.Random(zlib.crc32(f"digit-{digit}".encode())),
              origin=scale / 7, step=0.03, decay=0.75, jitter=0.012, width_unit=1)
    for stroke in _STROKES[digit]:
        pen.line(stroke, 255, width)
    image = image.filter(ImageFilter.GaussianBlur(scale / 112))
    return image.resize((size, size), Image.Resampling.LANCZOS)
