"""Samples drawn for evaluation: n images of a course model, labels cycling through its classes.

Sample i has its own generator seeded ``seed + i`` (so it does not depend on the batch it was in);
class-conditioned models are guided with u + γ·(c − u). `default_classifier` names the shipped
classifier that scores a dataset's samples (`difflab.evaluation.evaluate_samples`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..errors import UserError
from .classifier import load_classifier
from .evaluate import EvalResult, evaluate_samples
from ..guidance import GuidedDenoiser
from ..models.registry import builtin_models
from ..sampling import NoiseSource, sample_loop


def default_classifier(dataset: str) -> Path:
    """The shipped evaluation classifier of a dataset (MNIST's, Fashion-MNIST's or the emoji model's)."""
    name = {"fashion-mnist": "classifier-fashion-mnist", "emoji": "classifier-emoji"}.get(dataset, "classifier-mnist")
    shipped = builtin_models()
    if name not in shipped:
        raise UserError(f"no shipped classifier {name}; pass --classifier FILE")
    return shipped[name]


@torch.no_grad()
def sample_images(denoiser, n: int, guidance: float, steps: int, seed: int, batch: int, quiet: bool,
                  solver=None):
    """(images (n, C, H, W) in [0, 1], intended labels (n,) or None), sample i from seed `seed + i`;
    `solver` None is the course's sampler for the path."""
    timesteps = denoiser.path.grid(steps)
    classes = denoiser.condition_kind == "class"
    labels = torch.arange(n) % len(denoiser.class_names) if classes else None
    model = GuidedDenoiser(denoiser, guidance) if classes else denoiser
    images = []
    for start in tqdm(range(0, n, batch), desc="sampling", unit="batch", disable=quiet):
        noise = NoiseSource(range(seed + start, seed + min(start + batch, n)))
        cond = denoiser.encode(labels[start:start + batch].tolist()) if classes else None
        x = sample_loop(model, noise.randn(denoiser.image_shape), timesteps, cond, solver=solver, noise=noise)
        images.append(x.clamp(0, 1).cpu())
    return torch.cat(images), labels


@dataclass(frozen=True)
class ScoredSamples:
    """Samples drawn now and their scores: `samples` (n, C, H, W) in [0, 1], `labels` (n,) or None."""

    samples: torch.Tensor
    labels: torch.Tensor | None
    result: EvalResult
    class_names: tuple[str, ...]


def sample_and_score(denoiser, real_images: torch.Tensor, n: int, steps: int, guidance: float, seed: int,
                     threads: int | None = None, classifier_file: str | Path | None = None,
                     solver=None) -> ScoredSamples:
    """Draw n samples (sample i from seed + i) and score them against `real_images` with the dataset's
    classifier; `threads` caps torch's threads while sampling (small batches gain nothing from more);
    `solver` None is the course's sampler."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        samples, labels = sample_images(denoiser, n, guidance, steps, seed, 250, True, solver)
    finally:
        torch.set_num_threads(before)
    classifier = load_classifier(classifier_file or default_classifier(denoiser.spec.dataset))
    result = evaluate_samples(classifier, samples, labels, real_images, seed=seed)
    return ScoredSamples(samples, labels, result, tuple(denoiser.class_names))
