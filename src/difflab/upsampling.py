"""IF stage II as a procedure: 64-px images → 256 px, each guided by its prompt and its own seed.

Like every procedure in `editing`, this is `sample_loop` with a denoiser wrapper: stage II's joint
denoiser (IFStageII, loaded by `models.deepfloyd.load_deepfloyd_stage2`) is CFG-guided, optionally
wrapped again (an anagram's views, a hybrid's factorization) and bound to the noised, upscaled
low-res images, and the loop runs from pure noise on the path's time grid (`GaussianPath.grid`;
30 steps, as the course's stage II helper: 990, 957, …, 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from torch import Tensor

from .defaults import GUIDANCE
from .guidance import GuidedDenoiser
from .models.protocol import Denoiser
from .sampling import NoiseSource, UpdateRule, sample_loop

if TYPE_CHECKING:
    from .models.deepfloyd import IFStageII

STAGE2_STEPS = 30  # the course's stage II helper


def upsample(stage2: IFStageII, images: Tensor, cond: Tensor | Sequence[str] | None, seeds: Sequence[int], *,
             timesteps: Sequence[int] | None = None, steps: int = STAGE2_STEPS, guidance: float = GUIDANCE["text"],
             noise_level: int | None = None, wrap: Callable[[Denoiser], Denoiser] | None = None,
             rule: UpdateRule | None = None, progress: Callable | None = None) -> Tensor:
    """Stage II: (N, 3, h, w) images in [−1, 1] → (N, 3, 256, 256), CFG-guided, one seed per image.

    cond: prompt embeddings (N, 77, 4096), prompts, or None when `wrap` holds its own conditions.
    `wrap` receives the CFG-guided joint denoiser (e.g. an anagram's multi-view wrapper, whose views
    then act on the low-res image too, or a hybrid's factorized one). noise_level: how far the
    low-res guide is noised (default: the one stage II was loaded with).
    """
    model = stage2 if noise_level is None else stage2.with_noise_level(noise_level)
    if cond is not None and not isinstance(cond, Tensor):
        cond = model.encode(list(cond))
    noise = NoiseSource(seeds)
    if len(noise) != len(images):
        raise ValueError(f"{len(images)} images but {len(noise)} seeds")
    guided = lambda joint: GuidedDenoiser(joint, guidance)  # noqa: E731
    bound = model.bind(images, noise, wrap=(lambda joint: wrap(guided(joint))) if wrap else guided)
    x = noise.randn(bound.image_shape, device=images.device)
    grid = timesteps or model.path.grid(steps)
    return sample_loop(bound, x, grid, cond, rule=rule, noise=noise, progress=progress)
