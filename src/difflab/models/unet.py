"""The course UNet family of CS180 project 5, Part B (spec §3.1), as one configurable class.

Tensor conventions:
  x  (N, C, H, W) float, H and W divisible by 4 (MNIST: 1×28×28, bottleneck 7×7);
  t  (N,) or (N, 1) float, already normalised to [0, 1] (DDPM: t_index / T; flow matching: t);
  c  (N, num_classes) float, one-hot, or all zeros for the null class that classifier-free
     guidance drops to (spec §3.6);
  output: same shape as x.

Concatenation order (the spec leaves it open): skip connection first, then decoder features,
i.e. cat(e2, u0), cat(e1, u1), cat(e0, u2) along channels.

Conditioning (spec §3.1, combination rules), at point 1 (u0) and point 2 (u1):
  "none"                     unconditional (single-step denoiser)
  "time", time_mode="add"    u0 ← u0 + t1,      u1 ← u1 + t2       [FA24] DDPM
  "time", time_mode="mul"    u0 ← u0 · t1,      u1 ← u1 · t2       [SP25/FA25] flow matching
  "time+class"               u0 ← c1 · u0 + t1, u1 ← c2 · u1 + t2  every version (time_mode unused)
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Sequence

import torch
from torch import nn

CONDITIONINGS = ("none", "time", "time+class")
TIME_MODES = ("add", "mul")


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of `module` (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


# Simple ops, spec §3.1 table "Simple ops" (1–5); Concat (6) is torch.cat in CourseUNet.forward.
class Conv(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, H, W): Conv2d(k3, s1, p1) + BatchNorm2d + GELU."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(nn.Conv2d(d_in, d_out, 3, 1, 1), nn.BatchNorm2d(d_out), nn.GELU())


class DownConv(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, H/2, W/2): Conv2d(k3, s2, p1) + BatchNorm2d + GELU."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(nn.Conv2d(d_in, d_out, 3, 2, 1), nn.BatchNorm2d(d_out), nn.GELU())


class UpConv(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, 2H, 2W): ConvTranspose2d(k4, s2, p1) + BatchNorm2d + GELU."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(nn.ConvTranspose2d(d_in, d_out, 4, 2, 1), nn.BatchNorm2d(d_out), nn.GELU())


class Flatten(nn.Sequential):
    """(N, D, h, w) → (N, D, 1, 1): AvgPool2d over the whole bottleneck + GELU (28×28: kernel 7)."""

    def __init__(self, bottleneck: tuple[int, int]):
        super().__init__(nn.AvgPool2d(bottleneck), nn.GELU())


class Unflatten(nn.Sequential):
    """(N, D, 1, 1) → (N, D, h, w): ConvTranspose2d(kernel = stride = (h, w), p0) + BN + GELU."""

    def __init__(self, d: int, bottleneck: tuple[int, int]):
        super().__init__(nn.ConvTranspose2d(d, d, bottleneck, bottleneck, 0), nn.BatchNorm2d(d), nn.GELU())


# Composed ops, spec §3.1 table "Composed ops" (7–10).
class ConvBlock(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, H, W): Conv(D_in → D_out), Conv(D_out → D_out)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(Conv(d_in, d_out), Conv(d_out, d_out))


class DownBlock(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, H/2, W/2): DownConv then ConvBlock(D_out → D_out)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(DownConv(d_in, d_out), ConvBlock(d_out, d_out))


class UpBlock(nn.Sequential):
    """(N, D_in, H, W) → (N, D_out, 2H, 2W): UpConv then ConvBlock(D_out → D_out)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(UpConv(d_in, d_out), ConvBlock(d_out, d_out))


class FCBlock(nn.Sequential):
    """(N, F_in) → (N, F_out): Linear(F_in, F_out) + GELU, then Linear(F_out, F_out)."""

    def __init__(self, f_in: int, f_out: int):
        super().__init__(nn.Linear(f_in, f_out), nn.GELU(), nn.Linear(f_out, f_out))


def _image_hw(image_size: int | Sequence[int]) -> tuple[int, int]:
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(hw) != 2 or not all(isinstance(s, int) and s > 0 and s % 4 == 0 for s in hw):
        raise ValueError(f"image_size must be a positive int or (H, W) divisible by 4, got {image_size!r}")
    return hw  # type: ignore[return-value]


class CourseUNet(nn.Module):
    """The spec §3.1 UNet with D = `hidden` channels, unconditional or time(+class)-conditioned.

    `image_size` (an int or (H, W), each divisible by 4) fixes the bottleneck (H/4, W/4) that
    Flatten pools over and Unflatten expands to; 28 gives exactly the spec's k = 7 layers.
    The constructor arguments are kept in `self.config` (plain dict); `from_config` rebuilds.
    """

    def __init__(self, in_channels: int = 1, hidden: int = 64, conditioning: str = "none",
                 time_mode: str = "add", num_classes: int = 10, image_size: int | Sequence[int] = 28):
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        if time_mode not in TIME_MODES:
            raise ValueError(f"time_mode must be one of {TIME_MODES}, got {time_mode!r}")
        for name, value in (("in_channels", in_channels), ("hidden", hidden), ("num_classes", num_classes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        h, w = _image_hw(image_size)
        self.config: dict[str, Any] = dict(
            in_channels=in_channels, hidden=hidden, conditioning=conditioning, time_mode=time_mode,
            num_classes=num_classes, image_size=h if h == w else [h, w])
        self.conditioning, self.time_mode, self.image_hw = conditioning, time_mode, (h, w)

        d, bottleneck = hidden, (h // 4, w // 4)
        self.e0 = ConvBlock(in_channels, d)
        self.e1 = DownBlock(d, d)
        self.e2 = DownBlock(d, 2 * d)
        self.flatten = Flatten(bottleneck)
        self.u0 = Unflatten(2 * d, bottleneck)
        self.u1 = UpBlock(4 * d, d)
        self.u2 = UpBlock(2 * d, d)
        self.h = ConvBlock(2 * d, d)
        self.out = nn.Conv2d(d, in_channels, 3, 1, 1)  # no BN, no activation
        if conditioning != "none":
            self.fc1_t, self.fc2_t = FCBlock(1, 2 * d), FCBlock(1, d)
        if conditioning == "time+class":
            self.fc1_c, self.fc2_c = FCBlock(num_classes, 2 * d), FCBlock(num_classes, d)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "CourseUNet":
        """Rebuild an (untrained) net from `self.config` of another, e.g. read from a checkpoint."""
        unknown = set(config) - set(inspect.signature(cls).parameters)
        if unknown:
            raise ValueError(f"unknown CourseUNet config keys: {sorted(unknown)}")
        return cls(**config)

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, C, H, W), t (N,) or (N, 1) in [0, 1], c (N, num_classes) → (N, C, H, W)."""
        t, c = self._check_inputs(x, t, c)
        e0 = self.e0(x)                                       # (N, D, H, W)
        e1 = self.e1(e0)                                      # (N, D, H/2, W/2)
        e2 = self.e2(e1)                                      # (N, 2D, H/4, W/4)
        u0 = self._modulate(self.u0(self.flatten(e2)), 1, t, c)  # (N, 2D, H/4, W/4)
        u1 = self._modulate(self.u1(torch.cat([e2, u0], dim=1)), 2, t, c)  # (N, D, H/2, W/2)
        u2 = self.u2(torch.cat([e1, u1], dim=1))              # (N, D, H, W)
        return self.out(self.h(torch.cat([e0, u2], dim=1)))

    def _modulate(self, u: torch.Tensor, point: int, t: torch.Tensor | None,
                  c: torch.Tensor | None) -> torch.Tensor:
        """Spec §3.1, point 1 (u0, 2D channels) or point 2 (u1, D channels): u is (N, C, h, w)."""
        if self.conditioning == "none":
            return u
        t_emb = self.get_submodule(f"fc{point}_t")(t)[:, :, None, None]  # (N, C, 1, 1)
        if self.conditioning == "time+class":                 # class multiplies, time adds
            return self.get_submodule(f"fc{point}_c")(c)[:, :, None, None] * u + t_emb
        return u * t_emb if self.time_mode == "mul" else u + t_emb

    def _check_inputs(self, x: torch.Tensor, t: torch.Tensor | None, c: torch.Tensor | None):
        """Validate shapes and presence of t, c; return t as (N, 1) and c in x's dtype."""
        cfg = self.config
        if x.dim() != 4 or x.shape[1] != cfg["in_channels"] or tuple(x.shape[2:]) != self.image_hw:
            raise ValueError(f"x must be (N, {cfg['in_channels']}, {self.image_hw[0]}, {self.image_hw[1]}), "
                             f"got {tuple(x.shape)}")
        n, wants_t, wants_c = x.shape[0], self.conditioning != "none", self.conditioning == "time+class"
        if wants_t and t is None:
            raise ValueError(f"this {self.conditioning!r}-conditioned UNet needs t, a (N,) float tensor in [0, 1]")
        if not wants_t and t is not None:
            raise ValueError("this unconditional UNet takes no t; build it with conditioning='time'")
        if wants_c and c is None:
            raise ValueError("this class-conditioned UNet needs c, a (N, num_classes) one-hot "
                             "(all zeros for the unconditional class)")
        if not wants_c and c is not None:
            raise ValueError(f"this {self.conditioning!r} UNet takes no c; build it with conditioning='time+class'")
        if t is not None:
            if not t.is_floating_point() or t.shape not in ((n,), (n, 1)):
                raise ValueError(f"t must be a float tensor of shape ({n},) or ({n}, 1) normalised to [0, 1] "
                                 f"(DDPM: t_index / T), got {t.dtype} {tuple(t.shape)}")
            t = t.reshape(n, 1).to(x.dtype)
        if c is not None:
            if not c.is_floating_point() or tuple(c.shape) != (n, cfg["num_classes"]):
                raise ValueError(f"c must be a float tensor of shape ({n}, {cfg['num_classes']}), "
                                 f"got {c.dtype} {tuple(c.shape)}")
            c = c.to(x.dtype)
        return t, c
