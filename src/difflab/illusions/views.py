"""Views for visual anagrams (spec §2.10, arXiv 2311.17919): orthogonal transforms of an image batch.

A view maps (N, C, H, W) → (N, C, H, W) linearly, with an exact inverse. Most views move pixels
(a permutation of positions, the same for every channel); `negate` flips signs. Diffusion can
only denoise a view of x_t if the view keeps x_t a noisy image, i.e. keeps N(0, I) noise
N(0, I): that holds exactly for orthogonal maps, so `check_view` requires orthogonality.

Views act on *centred* images: `MultiViewDenoiser` subtracts the middle of the model's value
range (scaled by α_t on x_t) before a view and adds it back after, so `negate` is the photographic
negative (x ↦ 1 − x on [0, 1] images, x ↦ −x on [−1, 1]) and permutations are unaffected.

Names (`get_view`; an optional argument after a colon, e.g. ``patch_permute:8``):
identity, flip (upside down), mirror (left-right), rot90 / rot180 / rot270 (counter-clockwise),
negate, jigsaw[:pieces per side, default 4], patch_permute[:patch size, default H/8 or H/4],
pixel_permute[:seed], skew[:shift per column, default 0.5], inner_circle[:90 or 180, default 180].
Random layouts (jigsaw, patch_permute, pixel_permute) use a fixed seed, so a view name always
means the same transform.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch
from torch import Tensor

from ..errors import UserError


class View:
    """An invertible linear map of (N, C, H, W) batches; subclasses define view and inverse_view."""

    name = "view"

    def view(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse_view(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse_view_variance(self, v: Tensor) -> Tensor:
        """Move per-pixel variance channels back without sign flips: P⁻¹v for a view S·P.

        inverse_view(1) is the sign pattern S (its entries are ±1 for a signed permutation), so
        inverse_view(v)·inverse_view(1) = P⁻¹v. Permutation views override nothing here.
        """
        return self.inverse_view(v) * self.inverse_view(torch.ones_like(v))

    def __repr__(self) -> str:
        return self.name


class PixelPermutation(View):
    """A permutation of pixel positions given by `source(h, w)`: output pixel k = input pixel source[k]."""

    def __init__(self, name: str, source: Callable[[int, int], Tensor]):
        self.name, self._source = name, source

    @functools.lru_cache(maxsize=8)
    def indices(self, h: int, w: int) -> tuple[Tensor, Tensor]:
        src = self._source(h, w).reshape(-1).long()
        if sorted(src.tolist()) != list(range(h * w)):
            raise ValueError(f"view {self.name} does not define a permutation of a {h}x{w} image")
        return src, torch.argsort(src)

    def _apply(self, x: Tensor, index: Tensor) -> Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w)[:, :, index.to(x.device)].reshape(n, c, h, w)

    def view(self, x):
        return self._apply(x, self.indices(*x.shape[-2:])[0])

    def inverse_view(self, x):
        return self._apply(x, self.indices(*x.shape[-2:])[1])

    def inverse_view_variance(self, v):
        return self.inverse_view(v)


class Negate(View):
    name = "negate"

    def view(self, x):
        return -x

    def inverse_view(self, x):
        return -x

    def inverse_view_variance(self, v):
        return v


def _grid(h: int, w: int) -> Tensor:
    return torch.arange(h * w).reshape(h, w)


def _square(h: int, w: int, name: str) -> None:
    if h != w:
        raise UserError(f"the {name} view needs a square image, not {h}x{w}")


def _divides(size: int, parts: int, name: str) -> int:
    if parts < 1 or size % parts:
        raise UserError(f"the {name} view needs the image size ({size}) to be a multiple of {parts}")
    return size // parts


def _rotation(k: int) -> Callable[[int, int], Tensor]:
    def source(h, w):
        _square(h, w, f"rot{90 * k}")
        return torch.rot90(_grid(h, w), k, dims=(0, 1))
    return source


def _blocks(h: int, w: int, size: int, order: Tensor, turns: Tensor | None) -> Tensor:
    """Move block order[j] (blocks of size×size, raster order) to slot j, rotated turns[j]·90°."""
    grid = _grid(h, w)
    per_row = w // size
    out = torch.empty_like(grid)
    for slot, block in enumerate(order.tolist()):
        r, c = divmod(block, per_row)
        piece = grid[r * size:(r + 1) * size, c * size:(c + 1) * size]
        if turns is not None:
            piece = torch.rot90(piece, int(turns[slot]), dims=(0, 1))
        r, c = divmod(slot, per_row)
        out[r * size:(r + 1) * size, c * size:(c + 1) * size] = piece
    return out


def _jigsaw(pieces: int = 4, seed: int = 0):
    def source(h, w):
        _square(h, w, "jigsaw")
        size = _divides(h, pieces, "jigsaw")
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(pieces * pieces, generator=g)
        return _blocks(h, w, size, order, torch.randint(0, 4, (pieces * pieces,), generator=g))
    return source


def _patch_permute(patch: int | None = None, seed: int = 0):
    def source(h, w):
        size = patch if patch is not None else (h // 8 if h % 8 == 0 and w % 8 == 0 else h // 4)
        if size < 1 or h % size or w % size:
            raise UserError(f"patch_permute needs a patch size that divides the {h}x{w} image, not {size}")
        order = torch.randperm((h // size) * (w // size), generator=torch.Generator().manual_seed(seed))
        return _blocks(h, w, size, order, None)
    return source


def _pixel_permute(seed: int = 0):
    return lambda h, w: torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))


def _skew(shift: float = 0.5):
    """Column j is rolled down by round(shift·(j − centre)) pixels, wrapping around (a shear)."""
    def source(h, w):
        grid = _grid(h, w)
        rolls = [round(shift * (j - (w - 1) / 2)) for j in range(w)]
        return torch.stack([torch.roll(grid[:, j], rolls[j]) for j in range(w)], dim=1)
    return source


def _inner_circle(degrees: int = 180):
    """The disc of radius 3/8·size about the centre turns by `degrees`; the border stays put."""
    if degrees not in (90, 180, 270):
        raise UserError(f"inner_circle turns by 90, 180 or 270 degrees, not {degrees}")

    def source(h, w):
        _square(h, w, "inner_circle")
        coords = torch.arange(h) - (h - 1) / 2
        inside = coords[:, None] ** 2 + coords[None, :] ** 2 < (3 * h / 8) ** 2
        grid = _grid(h, w)
        return torch.where(inside, torch.rot90(grid, degrees // 90, dims=(0, 1)), grid)
    return source


def _int(text: str) -> int:
    return int(text)


# name → (factory taking the optional argument, converter of the argument text)
VIEWS: dict[str, tuple[Callable[..., View], Callable[[str], object] | None]] = {
    "identity": (lambda: PixelPermutation("identity", _grid), None),
    "flip": (lambda: PixelPermutation("flip", lambda h, w: torch.flip(_grid(h, w), dims=(0,))), None),
    "mirror": (lambda: PixelPermutation("mirror", lambda h, w: torch.flip(_grid(h, w), dims=(1,))), None),
    "rot90": (lambda: PixelPermutation("rot90", _rotation(1)), None),
    "rot180": (lambda: PixelPermutation("rot180", _rotation(2)), None),
    "rot270": (lambda: PixelPermutation("rot270", _rotation(3)), None),
    "negate": (Negate, None),
    "jigsaw": (lambda n=4: PixelPermutation(f"jigsaw:{n}", _jigsaw(n)), _int),
    "patch_permute": (lambda p=None: PixelPermutation("patch_permute" if p is None else f"patch_permute:{p}",
                                                      _patch_permute(p)), _int),
    "pixel_permute": (lambda s=0: PixelPermutation(f"pixel_permute:{s}", _pixel_permute(s)), _int),
    "skew": (lambda s=0.5: PixelPermutation(f"skew:{s}", _skew(s)), float),
    "inner_circle": (lambda d=180: PixelPermutation(f"inner_circle:{d}", _inner_circle(d)), _int),
}


def get_view(spec: str) -> View:
    """A view by name, with an optional argument: "rot180", "patch_permute:8", "skew:0.25"."""
    name, _, arg = str(spec).strip().partition(":")
    name = name.strip().lower().replace("-", "_")
    if name not in VIEWS:
        raise UserError(f"unknown view {spec!r}; choose from: {', '.join(VIEWS)}")
    factory, convert = VIEWS[name]
    if not arg:
        return factory()
    if convert is None:
        raise UserError(f"the {name} view takes no argument (got {spec!r})")
    try:
        value = convert(arg)
    except ValueError:
        raise UserError(f"bad argument for view {name}: {arg!r}") from None
    if (isinstance(value, int) and value < 0) or (isinstance(value, float) and not math.isfinite(value)):
        raise UserError(f"bad argument for view {name}: {arg!r}")
    return factory(value)


def parse_views(text: str) -> list[View]:
    """A comma-separated list of view names, e.g. "identity,rot180"."""
    names = [part for part in str(text).split(",") if part.strip()]
    if not names:
        raise UserError("give at least one view, e.g. --views identity,flip")
    return [get_view(name) for name in names]


def check_view(view: View, shape: tuple[int, int, int], tolerance: float = 1e-4) -> View:
    """Reject a view that anagram sampling cannot use; return it unchanged if it passes.

    Tested on random Gaussian batches of `shape` (C, H, W), to a relative `tolerance`:
    1. it keeps the shape, and inverse_view undoes view (both ways): invertible;
    2. view(a·x + b·y) = a·view(x) + b·view(y): linear;
    3. ‖view(x)‖ = ‖x‖ and ⟨view(x), view(y)⟩ = ⟨x, y⟩: orthogonal.
    A linear map keeps i.i.d. N(0, I) noise i.i.d. N(0, I) exactly when it is orthogonal, so 3 is
    the test that the noise statistics survive — exact, not statistical: a blur or a mix of shifted
    copies fails it by orders of magnitude more than rounding, while a per-pixel mean/variance or
    neighbour-correlation check can miss a view that correlates distant pixels.
    """
    name = getattr(view, "name", type(view).__name__)
    g = torch.Generator().manual_seed(0)
    x, y = (torch.randn((4, *shape), generator=g) for _ in range(2))
    try:
        vx, vy, mixed = view.view(x), view.view(y), view.view(2 * x - 3 * y)
        back, forth = view.inverse_view(vx), view.view(view.inverse_view(x))
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - a user's view may fail in any way
        raise UserError(f"view {name} fails on a batch of shape {(4, *shape)}: {err}") from None
    if vx.shape != x.shape:
        raise UserError(f"view {name} changes the image shape from {tuple(x.shape)} to {tuple(vx.shape)}")
    scale = x.flatten(1).norm(dim=1)

    def close(a, b):
        return bool(((a - b).flatten(1).norm(dim=1) <= tolerance * scale).all())
    if not (close(back, x) and close(forth, x)):
        raise UserError(f"view {name} is not invertible: inverse_view(view(x)) differs from x")
    if not close(mixed, 2 * vx - 3 * vy):
        raise UserError(f"view {name} is not linear, so it cannot map noise to noise")
    norms = vx.flatten(1).norm(dim=1) / scale
    inner = ((vx * vy).flatten(1).sum(1) - (x * y).flatten(1).sum(1)).abs() / (scale * y.flatten(1).norm(dim=1))
    if (norms - 1).abs().max() > tolerance or inner.max() > tolerance:
        raise UserError(f"view {name} does not preserve the statistics of Gaussian noise: it is not orthogonal "
                        f"(noise variance ×{(norms ** 2).mean().item():.3g} after the view); a view must move "
                        f"pixels around and may flip signs, but not blend them")
    return view
