"""Score generated images against real ones, always beside the real-vs-real floor at the same N.

FID and KID are biased by the sample size, and a 28×28 classifier's feature space has its own
scale, so a bare number means little. `evaluate_samples` therefore measures, with the same
estimator and the same N, how far one random set of real images is from another — the floor a
perfect generator would reach — and prints the two side by side.

How the floor is defined. The real images are shuffled (seeded) and split into two disjoint
sets: a reference set R and a floor set R', each of n = min(N_samples, N_real // 2) images. S is
a random subset of n samples (all of them when N_real ≥ 2·N_samples):

    fid       = FID(S,  R)        kid       = KID(S,  R)
    fid_floor = FID(R', R)        kid_floor = KID(R', R)

Both sides use the same reference R and the same n, so the floor is what a perfect generator
would score. When the real set holds fewer than 2·N_samples images, n < N_samples and the summary
says so. KID averages the unbiased MMD² over random subsets of min(kid_subset_size, n // 2)
images (clean-fid takes up to n; half of n keeps the spread over subsets informative when n is
small); its ± is that spread. Class accuracy always uses every sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import UserError
from .metrics import class_accuracy, classifier_features, frechet_distance, kernel_inception_distance


@dataclass(frozen=True)
class EvalResult:
    """Distances of generated samples from real images, each with its real-vs-real floor at N = `n`."""

    n: int  # images per side in FID/KID (samples, reference and floor sets alike)
    n_samples: int  # samples given (class accuracy uses them all)
    n_real: int  # real images given
    fid: float
    fid_floor: float
    kid: float
    kid_std: float  # spread over KID subsets
    kid_floor: float
    kid_floor_std: float
    kid_subset_size: int
    class_accuracy: float | None  # fraction of samples classified as their intended label; None if unlabelled
    seed: int  # drove the real split, the sample subset and the KID subsets

    def summary(self) -> str:
        """One line; FID and KID always appear beside their floors."""
        limited = f", limited by {self.n_real} real images" if self.n < self.n_samples else ""
        line = (f"classifier-FID {self.fid:.3g} (real-vs-real floor {self.fid_floor:.3g} at N={self.n}{limited})"
                f" · KID {self.kid:.3g} ± {self.kid_std:.2g} (floor {self.kid_floor:.2g})")
        if self.class_accuracy is not None:
            line += f" · class accuracy {100 * self.class_accuracy:.1f}%"
        return line


def _check_images(images: Tensor, name: str, tolerance: float = 0.05) -> Tensor:
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 1:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise UserError(f"{name} must be a (N, 1, H, W) tensor, got {shape}")
    low, high = images.min().item(), images.max().item()
    if low < -tolerance or high > 1 + tolerance:
        raise UserError(f"{name} must lie in [0, 1], got values in [{low:.3f}, {high:.3f}] "
                        "(map [-1, 1] images with (x + 1) / 2)")
    return images.float().clamp(0, 1)  # samplers overshoot [0, 1] slightly; the classifier saw [0, 1]


def evaluate_samples(classifier, samples: Tensor, labels: Tensor | None, real_images: Tensor, seed: int = 0,
                     kid_subsets: int = 100, kid_subset_size: int = 1000) -> EvalResult:
    """Classifier-FID, KID and class accuracy of `samples` (N, 1, 28, 28) in [0, 1].

    labels: (N,) intended classes of class-conditioned samples, or None.
    real_images: (M, 1, 28, 28) in [0, 1]; M ≥ 2N gives a floor at the full N (see module docstring).
    """
    samples = _check_images(samples, "samples")
    real_images = _check_images(real_images, "real images")
    n = min(len(samples), len(real_images) // 2)
    if n < 2:
        raise UserError(f"need at least 2 samples and 4 real images, got {len(samples)} and {len(real_images)}")
    generator = torch.Generator().manual_seed(seed)
    real = real_images[torch.randperm(len(real_images), generator=generator)]
    reference, floor_set = real[:n], real[n:2 * n]
    scored = samples[torch.randperm(len(samples), generator=generator)[:n]]

    f_samples, f_reference, f_floor = (classifier_features(classifier, x) for x in (scored, reference, floor_set))
    # Subsets of at most half the set, so that the spread over subsets means something even when N is small.
    subset_size = max(2, min(kid_subset_size, n // 2))
    kid = kernel_inception_distance(f_samples, f_reference, kid_subsets, subset_size, seed)
    kid_floor = kernel_inception_distance(f_floor, f_reference, kid_subsets, subset_size, seed)
    accuracy = None
    if labels is not None:
        if len(labels) != len(samples):
            raise UserError(f"{len(samples)} samples but {len(labels)} labels")
        accuracy = class_accuracy(classifier, samples, labels)
    return EvalResult(
        n=n, n_samples=len(samples), n_real=len(real_images),
        fid=frechet_distance(f_samples, f_reference), fid_floor=frechet_distance(f_floor, f_reference),
        kid=kid.mean, kid_std=kid.std, kid_floor=kid_floor.mean, kid_floor_std=kid_floor.std,
        kid_subset_size=kid.subset_size, class_accuracy=accuracy, seed=seed)
