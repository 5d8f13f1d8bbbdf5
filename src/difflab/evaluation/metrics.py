"""Distances between sets of classifier features, and the accuracy of intended classes.

All statistics are computed in float64. Feature sets are (N, F) tensors — in difflab the
penultimate activations of `Classifier.features`, the download-free stand-in for Inception.

* Fréchet distance (FID, Heusel et al. 2017):
      d² = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}).
  Σ_a Σ_b is not symmetric, but it is similar to the symmetric PSD matrix √Σ_a Σ_b √Σ_a, so
  Tr((Σ_a Σ_b)^{1/2}) = Σ_i √λ_i(√Σ_a Σ_b √Σ_a): two symmetric eigen-decompositions, no sqrtm.
* Kernel distance (KID, Bińkowski et al. 2018): the unbiased estimator of MMD² with the cubic
  polynomial kernel k(x, y) = (x·y / F + 1)³, averaged over random subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import UserError


@torch.no_grad()
def _batched(classifier, fn, images: Tensor, batch_size: int) -> Tensor:
    """Run `fn` over `images` in eval mode, batch by batch on the classifier's device; results on the CPU."""
    classifier.eval()
    parameter = next(iter(classifier.parameters()), None)
    device = parameter.device if parameter is not None else images.device
    return torch.cat([fn(images[i:i + batch_size].to(device, torch.float32)).cpu()
                      for i in range(0, len(images), batch_size)])


def classifier_features(classifier, images: Tensor, batch_size: int = 500) -> Tensor:
    """(N, 1, 28, 28) in [0, 1] → (N, F) penultimate features (the classifier is put in eval mode)."""
    return _batched(classifier, classifier.features, images, batch_size)


def predict_logits(classifier, images: Tensor, batch_size: int = 500) -> Tensor:
    """(N, 1, 28, 28) in [0, 1] → (N, num_classes) logits (the classifier is put in eval mode)."""
    return _batched(classifier, classifier, images, batch_size)


def class_accuracy(classifier, images: Tensor, intended_labels: Tensor) -> float:
    """Fraction of images the classifier assigns to their intended class (e.g. a class-conditioned sample's label)."""
    if len(images) != len(intended_labels):
        raise UserError(f"{len(images)} images but {len(intended_labels)} intended labels")
    predicted = predict_logits(classifier, images).argmax(dim=1)
    return (predicted == intended_labels.cpu().long()).double().mean().item()


def _as_float64(feats: Tensor, name: str) -> Tensor:
    if feats.dim() != 2 or feats.shape[0] < 2:
        raise UserError(f"{name} must be an (N, F) feature matrix with N ≥ 2, got shape {tuple(feats.shape)}")
    return feats.detach().to("cpu", torch.float64)


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root of a symmetric PSD matrix; round-off negative eigenvalues are clipped to 0."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance_from_stats(mu_a: Tensor, cov_a: Tensor, mu_b: Tensor, cov_b: Tensor) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}) for Gaussians N(μ_a, Σ_a), N(μ_b, Σ_b)."""
    mu_a, mu_b, cov_a, cov_b = (t.to(torch.float64) for t in (mu_a, mu_b, cov_a, cov_b))
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()  # Tr((Σ_a Σ_b)^½)
    distance = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)  # ≥ 0 in exact arithmetic; clip round-off


def frechet_distance(feats_a: Tensor, feats_b: Tensor) -> float:
    """FID between two (N, F) feature sets, from their sample means and (unbiased) covariances.

    Like every FID it is biased upward at small N: compare it only with a floor at the same N.
    """
    a, b = _as_float64(feats_a, "feats_a"), _as_float64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise UserError(f"feature sets differ in width: {a.shape[1]} vs {b.shape[1]}")
    return frechet_distance_from_stats(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


@dataclass(frozen=True)
class KernelDistance:
    """KID: mean and standard deviation of the unbiased MMD² over `subsets` random subsets of `subset_size`."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(x: Tensor, y: Tensor) -> Tensor:
    """k(x, y) = (x·y / F + 1)³ for all pairs: (m, F), (n, F) → (m, n)."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) between equal-size samples x, y of shape (m, F):

        1/(m(m−1)) Σ_{i≠j} [k(x_i, x_j) + k(y_i, y_j)] − 2/m² Σ_{i,j} k(x_i, y_j).
    """
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return (within - 2 * k_xy.sum() / m**2).item()


def kernel_inception_distance(feats_a: Tensor, feats_b: Tensor, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> KernelDistance:
    """KID between (N_a, F) and (N_b, F) features: unbiased MMD² on `subsets` random subsets.

    Each subset draws min(subset_size, N_a, N_b) rows from each set without replacement. The
    estimator is unbiased, so for samples of one distribution it scatters around 0 (it can be < 0).
    """
    a, b = _as_float64(feats_a, "feats_a"), _as_float64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise UserError(f"feature sets differ in width: {a.shape[1]} vs {b.shape[1]}")
    if subsets < 1:
        raise UserError(f"KID needs at least one subset, got {subsets}")
    m = min(subset_size, len(a), len(b))
    generator = torch.Generator().manual_seed(seed)
    values = torch.tensor([
        mmd2_unbiased(a[torch.randperm(len(a), generator=generator)[:m]],
                      b[torch.randperm(len(b), generator=generator)[:m]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    std = values.std().item() if subsets > 1 else 0.0
    return KernelDistance(mean=values.mean().item(), std=std, subsets=subsets, subset_size=m)
