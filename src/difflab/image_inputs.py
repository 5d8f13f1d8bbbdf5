"""Input images at a model's size and value range, as every command and the tour read them.

A spec is a file, ``builtin:NAME``, ``sketch:NAME`` (`difflab.data.load_image`) or
``digit:CLASS[:K]`` / ``data:CLASS[:K]``: the K-th test image of that class in the model's dataset.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .data import load_dataset, load_image, open_image
from .errors import UserError


def load_input(spec: str, model) -> torch.Tensor:
    """An input image (1, C, H, W) at the model's size and range: a file, builtin:NAME, sketch:NAME,
    or digit:CLASS[:K] / data:CLASS[:K] (the K-th test image of that class in the model's dataset)."""
    c, h, w = model.image_shape
    if spec.split(":", 1)[0] in ("digit", "data"):
        return _dataset_image(spec, model)
    return load_image(spec, h, model.value_range, channels=c)


def input_size(spec: str) -> tuple[int, int]:
    """(width, height) of an input as given, before resizing (dataset images are 28×28)."""
    if spec.split(":", 1)[0] in ("digit", "data"):
        return (28, 28)
    return open_image(spec).size


def _dataset_image(spec: str, model) -> torch.Tensor:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[1]:
        raise UserError(f"{spec!r}: write digit:CLASS or digit:CLASS:K, e.g. digit:3 or digit:3:5")
    name = getattr(getattr(model, "spec", None), "dataset", "mnist-5k")
    data = load_dataset(name, "test")
    label = _class_index(parts[1], data.class_names, spec)
    index = 0
    if len(parts) == 3:
        index = int(parts[2]) if parts[2].isdigit() else -1
    rows = torch.nonzero(data.labels == label).flatten()
    if not 0 <= index < len(rows):
        raise UserError(f"{spec!r}: K must be from 0 to {len(rows) - 1}")
    image = data.images[rows[index]][None]  # (1, 1, 28, 28) in [0, 1]
    c, h, w = model.image_shape
    if (h, w) != (28, 28):
        image = F.interpolate(image, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    low, high = model.value_range
    return (low + (high - low) * image).expand(1, c, h, w).clone()


def _class_index(text: str, names: Sequence[str], spec: str) -> int:
    lowered = [n.lower() for n in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.isdigit() and int(text) < len(names):
        return int(text)
    raise UserError(f"{spec!r}: unknown class {text!r}; choose one of {', '.join(names)}")
