"""Train the evaluation classifier: AdamW, a one-cycle learning rate, light affine augmentation.

Datasets are anything with `.images` (N, 1, 28, 28) float32 in [0, 1], `.labels` (N,) int64,
`.class_names` and `.name` — `difflab.data.ImageDataset` in practice. Training is CPU-friendly:
the whole dataset sits in memory as one tensor, no DataLoader workers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from .classifier import Classifier, ClassifierConfig
from .metrics import class_accuracy


@dataclass(frozen=True)
class AugmentConfig:
    """Random affine jitter per image: shift ±`shift_px`, rotation ±`rotate_deg`, scale 1 ± `scale`."""

    shift_px: float = 2.0
    rotate_deg: float = 10.0
    scale: float = 0.1
    hflip: bool = False  # mirror half the images (sensible for clothes, wrong for digits)


@dataclass(frozen=True)
class ClassifierReport:
    """What one training run reached; `test_accuracy` is measured once, after the last epoch."""

    dataset: str
    test_accuracy: float
    epochs: int
    seconds: float
    n_train: int
    n_test: int
    batch_size: int
    lr: float
    seed: int
    augment: AugmentConfig | None
    epoch_losses: tuple[float, ...]  # mean training cross-entropy per epoch

    def summary(self) -> str:
        return (f"{self.dataset}: test accuracy {100 * self.test_accuracy:.2f}% on {self.n_test} images "
                f"after {self.epochs} epochs on {self.n_train} images ({self.seconds:.0f} s)")


def random_affine(x: Tensor, aug: AugmentConfig, generator: torch.Generator) -> Tensor:
    """Jitter (N, 1, H, W) images with one random affine map each (bilinear, zero padding).

    affine_grid works in normalised coordinates where the image spans [-1, 1], so one pixel is 2/W.
    """
    n, _, h, w = x.shape
    u = lambda: torch.rand(n, generator=generator) * 2 - 1
    angle = u() * math.radians(aug.rotate_deg)
    scale = 1 + u() * aug.scale
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    flip = torch.ones(n)
    if aug.hflip:
        flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.stack([
        torch.stack([cos * flip, -sin, u() * aug.shift_px * 2 / w], dim=1),
        torch.stack([sin * flip, cos, u() * aug.shift_px * 2 / h], dim=1),
    ], dim=1)  # (N, 2, 3): input coordinates = A · output coordinates + b
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _check_dataset(dataset, role: str) -> None:
    images, labels = dataset.images, dataset.labels
    if images.dim() != 4 or images.shape[1] not in (1, 3) or len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"{role} set must hold (N, C, H, W) images and N labels, got {tuple(images.shape)} "
                         f"and {tuple(labels.shape)}")


def train_classifier(dataset_train, dataset_test, epochs: int = 30, batch_size: int = 128, lr: float = 3e-3,
                     seed: int = 0, augment: bool | AugmentConfig = True, progress: bool = True,
                     config: ClassifierConfig | None = None, weight_decay: float = 5e-4,
                     label_smoothing: float = 0.1) -> tuple[Classifier, ClassifierReport]:
    """Train a `Classifier` on `dataset_train`; report its accuracy on `dataset_test`.

    AdamW with a one-cycle schedule (linear warm-up over the first 15% of steps to `lr`, cosine
    decay to lr/1e4) and label smoothing. The run is reproducible from `seed` and leaves the
    global RNG state of the caller untouched.
    """
    _check_dataset(dataset_train, "training")
    _check_dataset(dataset_test, "test")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs ≥ 1 and batch_size ≥ 2, got {epochs} and {batch_size}")
    aug = AugmentConfig() if augment is True else (augment or None)
    config = config or ClassifierConfig(image_size=dataset_train.images.shape[-1],
                                        in_channels=dataset_train.images.shape[1],
                                        num_classes=len(dataset_train.class_names))
    x_all, y_all = dataset_train.images.float(), dataset_train.labels.long()
    n = len(x_all)
    steps_per_epoch = math.ceil(n / batch_size)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # weight init and dropout
        generator = torch.Generator().manual_seed(seed)  # shuffling and augmentation
        model = Classifier(config, dataset_train.class_names)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                       pct_start=0.15, final_div_factor=1e4 / 25)
        losses = []
        bar = tqdm(range(epochs), desc=f"classifier {getattr(dataset_train, 'name', '')}", disable=not progress)
        for _ in bar:
            model.train()
            order = torch.randperm(n, generator=generator)
            total = 0.0
            for i in range(0, n, batch_size):
                idx = order[i:i + batch_size]
                if len(idx) < 2:  # BatchNorm cannot train on a single image; it rejoins next epoch
                    continue
                x, y = x_all[idx], y_all[idx]
                if aug is not None:
                    x = random_affine(x, aug, generator)
                loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item() * len(idx) / n
            losses.append(total)
            bar.set_postfix(loss=f"{total:.4f}")
    model.eval()
    accuracy = class_accuracy(model, dataset_test.images, dataset_test.labels)
    report = ClassifierReport(
        dataset=getattr(dataset_train, "name", "unknown"), test_accuracy=accuracy, epochs=epochs,
        seconds=time.perf_counter() - start, n_train=n, n_test=len(dataset_test.labels), batch_size=batch_size,
        lr=lr, seed=seed, augment=aug, epoch_losses=tuple(losses))
    return model, report

