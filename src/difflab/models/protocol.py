"""The one protocol every model sits behind.

A `Denoiser` takes a noisy batch x_t (N, C, H, W) in its own value range, a per-sample time
t (N,) in its path's convention, and a batch of conditions, and returns a `ModelOutput`: a
prediction of the type it names (``prediction_type``: ``"epsilon"``, ``"x0"`` or ``"velocity"``) on the
path it names.
Guidance, views, editing and every sampler are written against this protocol alone, so the course
models and DeepFloyd IF serve them all.

Conditions are tensors built by the model itself (`encode`): a one-hot class row for the course's
class-conditioned nets (all zeros = "no class"), a T5 prompt embedding for IF ("" = no prompt).
`encode` maps None (or "") to the null condition that classifier-free guidance uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from torch import Tensor

from ..paths import GaussianPath, PredictionType


@dataclass
class ModelOutput:
    """What a denoiser returns for a batch.

    prediction: (N, C, H, W), of the type named by the denoiser's ``prediction_type``.
    variance: (N, C, H, W) or None — IF's learned-range interpolation v ∈ [−1, 1] (spec §2.2).
    """

    prediction: Tensor
    variance: Tensor | None = None


@runtime_checkable
class Denoiser(Protocol):
    """A model on a known Gaussian path.

    Attributes:
        path: the path its times refer to (`DiscretePath` integer t, or `FlowPath` t ∈ [0, 1]).
        prediction_type: "epsilon", "x0" or "velocity" (`paths.PredictionType`).
        image_shape: (C, H, W) of the images it works on.
        value_range: (low, high) of clean images, e.g. (0, 1) for the course's MNIST, (−1, 1) for IF.
        condition_kind: "none", "class" or "text".
    """

    path: GaussianPath
    prediction_type: PredictionType
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    condition_kind: str

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        """Predict for x_t (N, C, H, W) at times t (N,) under conditions cond (N, ...) or None."""
        ...

    def encode(self, conditions: Sequence[str | int | None]) -> Tensor | None:
        """One condition row per entry (None or "" → the null condition); None for unconditional models."""
        ...
