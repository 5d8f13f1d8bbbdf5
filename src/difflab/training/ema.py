"""Exponential moving average of a network's weights, BatchNorm statistics included.

After n earlier updates the decay is min(decay, (1 + n)/(10 + n)) with warm-up (diffusers'
EMAModel), so a short run's average forgets the random initial weights (design habit 11):
the first update copies 90% of the weights, the decay passes 0.99 after ~900 updates.
Floating-point buffers (BatchNorm running mean and variance) are averaged like the weights;
integer buffers (num_batches_tracked) are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """`self.net` is an eval-mode copy of the trained net holding the averaged weights."""

    def __init__(self, net: nn.Module, decay: float, warmup: bool = True):
        self.decay, self.warmup = decay, warmup
        self.net = copy.deepcopy(net).eval().requires_grad_(False)

    def decay_at(self, updates: int) -> float:
        """The decay used by the update that follows `updates` earlier ones."""
        return min(self.decay, (1 + updates) / (10 + updates)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, net: nn.Module, updates: int) -> None:
        """ema ← d·ema + (1 − d)·net, for parameters and floating buffers alike."""
        weight = 1 - self.decay_at(updates)
        sources = self._tensors(net)
        for name, target in self._tensors(self.net).items():
            if target.is_floating_point():
                target.lerp_(sources[name].detach(), weight)
            else:
                target.copy_(sources[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.net.load_state_dict(state)

    @staticmethod
    def _tensors(net: nn.Module) -> dict[str, torch.Tensor]:
        return {**dict(net.named_parameters()), **dict(net.named_buffers())}
