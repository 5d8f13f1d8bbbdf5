"""Visual anagrams (spec §2.10): a denoiser that averages a model's predictions over views.

For views v_1 … v_K with conditions c_1 … c_K the prediction at x_t is

    mean_i  v_i⁻¹( model(v_i(x_t), t, c_i) )

so the sample looks like c_i when seen through v_i. The K branches run as one batched forward
pass. Views are linear, so averaging ε, x̂0 or velocity predictions gives the same x̂0; views act
on centred images (see `views`), which for the prediction means subtracting the range middle m
from x̂0 and velocity predictions (both carry +m on a clean image) but not from ε. Variance
channels (IF) are moved back by each view's permutation and averaged too (spec §6.12: as the
reference implementation; the assignment is silent).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..errors import UserError
from ..models.protocol import Denoiser, ModelOutput
from ..paths import _broadcast
from .views import View, check_view


class MultiViewDenoiser:
    """A `Denoiser` whose condition is fixed per view; call it with cond=None.

    base: any denoiser (wrap it in `GuidedDenoiser` first for CFG in every branch, pitfall 13).
    views: K views, each checked with `check_view` on the model's image shape.
    conds: K condition batches (N, …) from ``base.encode`` (or None for an unconditional model).
    """

    def __init__(self, base: Denoiser, views: Sequence[View], conds: Sequence[Tensor | None]):
        if len(views) != len(conds) or not views:
            raise UserError(f"an anagram needs one prompt per view: {len(views)} views, {len(conds)} prompts")
        if len({c is None for c in conds}) > 1:
            raise UserError("give every view a prompt, or none of them")
        self.base, self.views, self.conds = base, list(views), list(conds)
        for view in self.views:
            check_view(view, tuple(base.image_shape))
        low, high = base.value_range
        self.middle = (low + high) / 2

    def __getattr__(self, name):  # path, prediction_type, image_shape, value_range, encode …
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def _centred(self, x_t: Tensor, t: Tensor, sign: int) -> Tensor:
        """x_t ∓ α_t·m: the noisy image of the centred clean image (and back)."""
        if self.middle == 0:
            return x_t
        return x_t + sign * _broadcast(self.path.alpha(t), x_t) * self.middle

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> ModelOutput:
        if cond is not None:
            raise ValueError("a MultiViewDenoiser holds one condition per view; call it with cond=None")
        k, n = len(self.views), x_t.shape[0]
        centred = self._centred(x_t, t, -1)
        inputs = torch.cat([self._centred(v.view(centred), t, +1) for v in self.views])
        conds = None if self.conds[0] is None else torch.cat([c.expand(n, *c.shape[1:]) for c in self.conds])
        out = self.base(inputs, t.repeat(k), conds)
        offset = 0.0 if self.prediction_type == "epsilon" else self.middle
        preds = out.prediction.chunk(k)
        prediction = sum(v.inverse_view(p - offset) for v, p in zip(self.views, preds)) / k + offset
        variance = None
        if out.variance is not None:
            variance = sum(v.inverse_view_variance(p) for v, p in zip(self.views, out.variance.chunk(k))) / k
        return ModelOutput(prediction, variance)

    def encode(self, conditions):
        raise UserError("a multi-view denoiser takes its conditions per view when it is built")


def view_clean(view: View, x0: Tensor, value_range: tuple[float, float]) -> Tensor:
    """How a clean image looks through a view (centred like the sampler: negate is 1 − x on [0, 1])."""
    middle = sum(value_range) / 2
    return view.view(x0 - middle) + middle
