"""Part A procedures on any `Denoiser` (spec §2.3–2.9): each is `sample_loop` with a start or a hook.

Every function takes a ready denoiser (wrap it in `GuidedDenoiser` for CFG, or in a multi-view or
factorized denoiser for illusions), a time grid (``denoiser.path.grid(steps)``), a condition batch from
``denoiser.encode`` and a `NoiseSource` with one seed per image. All randomness — the forward
noise, the sampler's noise and inpainting's re-noising — comes from that source in a fixed order,
so an image depends only on its own seed.

Images are batches (N, C, H, W) in the denoiser's value range; a single (1, C, H, W) original is
broadcast to the N seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch
from torch import Tensor

from .filters import BlurResult, best_blur, gaussian_blur, psnr
from .models.protocol import Denoiser
from .paths import GaussianPath, _broadcast
from .sampling import NoiseSource, StepHook, StepState, UpdateRule, check_i_start, sample_loop


def _expand(x: Tensor, n: int) -> Tensor:
    return x.expand(n, *x.shape[1:]) if x.shape[0] == 1 else x


def forward_noise(path: GaussianPath, x0: Tensor, t, noise: NoiseSource) -> Tensor:
    """x_t = α_t·x0 + σ_t·ε, one ε per seed (spec eq. A.2 / B.3)."""
    x0 = _expand(x0, len(noise))
    return path.add_noise(x0, noise.like(x0), t)


def one_step_denoise(denoiser: Denoiser, x_t: Tensor, t, cond: Tensor | None = None) -> Tensor:
    """x̂0 from a single prediction at time t (spec §2.5: invert A.2, never x_t − ε̂)."""
    path = denoiser.path
    times = path.time_batch(t, x_t.shape[0])
    return path.to_x0(x_t, denoiser(x_t, times, cond).prediction, times, denoiser.prediction_type)


def chain_hooks(*hooks: StepHook | None) -> StepHook | None:
    """One hook running `hooks` in order; a hook that returns a tensor replaces x_next for the next."""
    hooks = [h for h in hooks if h is not None]
    if len(hooks) <= 1:
        return hooks[0] if hooks else None

    def run(state: StepState):
        for hook in hooks:
            out = hook(state)
            if out is not None:
                state = replace(state, x_next=out)
        return state.x_next
    return run


def sample(denoiser: Denoiser, timesteps: Sequence, noise: NoiseSource, cond: Tensor | None = None, *,
           rule: UpdateRule | None = None, hook: StepHook | None = None, progress=None) -> Tensor:
    """Generate from pure noise (spec §2.7, §2.8 with a guided denoiser)."""
    x = noise.randn(denoiser.image_shape)
    return sample_loop(denoiser, x, timesteps, cond, rule=rule, noise=noise, hook=hook, progress=progress)


def iterative_denoise(denoiser: Denoiser, x_t: Tensor, t, grid: Sequence, noise: NoiseSource,
                      cond: Tensor | None = None, **loop) -> Tensor:
    """Strided denoising of x_t, which is at time t, down the grid (spec §2.6; any t, on the grid or not)."""
    return sample_loop(denoiser, x_t, denoiser.path.continue_grid(t, grid), cond, noise=noise, **loop)


def sdedit(denoiser: Denoiser, x_orig: Tensor, timesteps: Sequence, noise: NoiseSource,
           cond: Tensor | None = None, *, i_start: int, **loop) -> Tensor:
    """SDEdit (spec §2.9): noise x_orig to timesteps[i_start], denoise from the same index (pitfall 11).

    With a non-null condition this is text/class-conditional image-to-image translation (§2.9.3).
    `i_start` is a grid index, given by keyword as to `inpaint` (and as ``--i-start`` on the CLI).
    """
    check_i_start(i_start, timesteps)
    x = forward_noise(denoiser.path, x_orig, timesteps[i_start], noise)
    return sample_loop(denoiser, x, timesteps, cond, noise=noise, start=i_start, **loop)


@dataclass
class Comparison:
    """Spec §2.4–2.6 at one time t: the noisy image and three ways back, with PSNRs in dB."""

    t: float
    noisy: Tensor
    one_step: Tensor
    iterative: Tensor
    blur: BlurResult
    psnr: dict


def compare_denoisers(denoiser: Denoiser, x0: Tensor, t, grid: Sequence, noise: NoiseSource,
                      cond: Tensor | None = None, blur: tuple[int, float] | None = None, **loop) -> Comparison:
    """Forward-noise x0 to t, then one-step, iterative and Gaussian-blur denoising of that same image.

    `blur` = (kernel, σ); None searches for the blur with the best PSNR (a fair baseline).
    """
    x0 = _expand(x0, len(noise))
    noisy = forward_noise(denoiser.path, x0, t, noise)
    one = one_step_denoise(denoiser, noisy, t, cond)
    it = iterative_denoise(denoiser, noisy, t, grid, noise, cond, **loop)
    r = denoiser.value_range
    if blur is None:
        blurred = best_blur(noisy, x0, r)
    else:
        image = gaussian_blur(noisy, *blur)
        blurred = BlurResult(image, blur[0], blur[1], psnr(image, x0, r).mean().item())
    scores = {name: psnr(image, x0, r).mean().item() for name, image in
              (("noisy", noisy), ("one_step", one), ("iterative", it), ("blur", blurred.image))}
    return Comparison(t, noisy, one, it, blurred, scores)


def renoise(path: GaussianPath, x: Tensor, t_from, t_to, noise: NoiseSource) -> Tensor:
    """Sample q(x_{t_to} | x_{t_from}) for a noisier t_to (RePaint's jump back).

    x_to = (α_to/α_from)·x + √(σ_to² − (α_to/α_from)²·σ_from²)·z; on a DDPM path this is
    √(ᾱ_to/ᾱ_from)·x + √(1 − ᾱ_to/ᾱ_from)·z, and it maps the marginal at t_from to the one at t_to.
    """
    ratio = path.alpha(t_to) / path.alpha(t_from)
    std = torch.clamp(path.sigma(t_to) ** 2 - ratio**2 * path.sigma(t_from) ** 2, min=0).sqrt()
    return _broadcast(ratio, x) * x + _broadcast(std, x) * noise.like(x)


def repaint_schedule(num_steps: int, start: int = 0, jump: int = 1, repeats: int = 1) -> list[tuple[str, int, int]]:
    """RePaint's walk over grid indices: ("down", a, b) denoises a → b, ("up", b, a) re-noises back.

    Blocks of `jump` steps are each denoised `repeats` times, re-noising in between. Adjacent
    "down" moves are merged, so repeats = 1 is the plain loop from `start` to `num_steps`.
    """
    if jump < 1 or repeats < 1:
        raise ValueError(f"RePaint needs jump ≥ 1 and repeats ≥ 1, got jump={jump}, repeats={repeats}")
    moves: list[tuple[str, int, int]] = []
    for a in range(start, num_steps, jump):
        b = min(a + jump, num_steps)
        block = [("down", a, b)] + [("up", b, a), ("down", a, b)] * (repeats - 1)
        for move in block:
            if moves and move[0] == moves[-1][0] == "down" and moves[-1][2] == move[1]:
                moves[-1] = ("down", moves[-1][1], move[2])
            else:
                moves.append(move)
    return moves


def inpaint(denoiser: Denoiser, x_orig: Tensor, mask: Tensor, timesteps: Sequence, noise: NoiseSource,
            cond: Tensor | None = None, *, i_start: int = 0, jump: int = 1, repeats: int = 1,
            hook: StepHook | None = None, **loop) -> Tensor:
    """RePaint inpainting (spec §2.9.2, eq. A.5): mask 1 = regenerate, 0 = keep; from grid index
    `i_start` (0: pure noise; otherwise x_orig noised to timesteps[i_start], as in `sdedit`).

    After every step x ← m·x + (1 − m)·forward(x_orig, t′), with t′ the time of the image just
    produced (pitfall 12), so at the clean end the kept region equals x_orig exactly on the course
    paths (≈ on IF, whose t = 0 keeps ᾱ = 0.99996). `repeats` > 1 adds RePaint's resampling.
    """
    path, x_orig = denoiser.path, _expand(x_orig, len(noise))
    check_i_start(i_start, timesteps)

    def project(state: StepState) -> Tensor:
        known = path.add_noise(x_orig, noise.like(x_orig), state.t_next)
        return mask * state.x_next + (1 - mask) * known

    step_hook = chain_hooks(project, hook)
    x = noise.randn(denoiser.image_shape) if i_start == 0 else forward_noise(path, x_orig, timesteps[i_start], noise)
    for kind, a, b in repaint_schedule(len(timesteps) - 1, i_start, jump, repeats):
        if kind == "down":
            x = sample_loop(denoiser, x, timesteps[:b + 1], cond, noise=noise, start=a, hook=step_hook, **loop)
        else:
            x = renoise(path, x, timesteps[a], timesteps[b], noise)
    return x

