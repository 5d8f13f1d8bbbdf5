"""A small MNIST-sized CNN whose penultimate layer is difflab's download-free "Inception".

Architecture (input (N, 1, 28, 28) in [0, 1]):

    conv 3×3 → 32, BN, ReLU   28×28  → max-pool → 14×14
    conv 3×3 → 64, BN, ReLU   14×14  → max-pool →  7×7
    conv 3×3 → 128, BN, ReLU   7×7   → flatten, dropout
    linear 6272 → 256, BN, ReLU         ← `features(x)`: the penultimate layer, used for FID/KID
    dropout, linear 256 → 10            ← `forward(x)`: logits

Weights are stored as safetensors (never pickle); the file's metadata holds the JSON config,
the class names and whatever the trainer records (dataset, test accuracy, seed, …).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import Tensor, nn

from ..atomic import atomic_write
from ..errors import UserError

FORMAT = "difflab-classifier"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture hyperparameters; everything needed to rebuild the network before loading weights."""

    channels: tuple[int, int, int] = (32, 64, 128)
    feature_dim: int = 256
    num_classes: int = 10
    dropout: float = 0.3
    image_size: int = 28
    in_channels: int = 1  # 3 for the emoji classifier (files without the key are MNIST-style: 1)

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if len(self.channels) != 3 or self.image_size % 4:
            raise ValueError("the classifier has three conv stages and needs an image size divisible by 4")


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class Classifier(nn.Module):
    """Small CNN classifier; `features` gives the (N, F) penultimate activations for FID/KID."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig(), class_names: list[str] | None = None):
        super().__init__()
        self.config = config
        self.class_names = list(class_names) if class_names is not None else [str(i) for i in range(config.num_classes)]
        if len(self.class_names) != config.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {config.num_classes} classes")
        self.metadata: dict = {}  # filled by `load_classifier` from the file
        c1, c2, c3 = config.channels
        side = config.image_size // 4
        self.trunk = nn.Sequential(
            *_conv(config.in_channels, c1), nn.MaxPool2d(2),
            *_conv(c1, c2), nn.MaxPool2d(2),
            *_conv(c2, c3), nn.Flatten(), nn.Dropout(config.dropout),
            nn.Linear(c3 * side * side, config.feature_dim, bias=False), nn.BatchNorm1d(config.feature_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def _check(self, x: Tensor) -> None:
        size = self.config.image_size
        shape = (self.config.in_channels, size, size)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise UserError(f"the classifier expects images of shape (N, {', '.join(map(str, shape))}), "
                            f"got {tuple(x.shape)}")

    def features(self, x: Tensor) -> Tensor:
        """(N, 1, 28, 28) in [0, 1] → (N, feature_dim) penultimate activations (post-ReLU)."""
        self._check(x)
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, 28, 28) in [0, 1] → (N, num_classes) logits."""
        return self.head(self.features(x))


def save_classifier(model: Classifier, path: str | Path, metadata: dict | None = None, overwrite: bool = False,
                    dtype: torch.dtype | None = None) -> Path:
    """Write weights (floating ones cast to `dtype` if given: float16 to ship) + JSON config/class
    names/metadata to a safetensors file, atomically; `load_classifier` computes in float32 either way.

    `metadata` must be JSON-serialisable (e.g. {"dataset": "mnist-5k", "test_accuracy": 0.99}).
    Refuses to replace an existing file unless `overwrite`.
    """
    path = Path(path)
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(asdict(model.config)),
        "class_names": json.dumps(model.class_names),
        "metadata": json.dumps(metadata or {}, sort_keys=True),
    }
    tensors = {name: t.detach().cpu().to(dtype if dtype and t.is_floating_point() else t.dtype).contiguous()
               for name, t in model.state_dict().items()}
    blob = save(tensors, metadata=header)
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(blob)
    return path


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> Classifier:
    """Rebuild a `Classifier` saved by `save_classifier`, in eval mode; its `.metadata` holds the record."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"classifier file {path} not found (train one with scripts/train_classifiers.py)")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path} is not a readable safetensors file: {err}") from None
    if header.get("format") != FORMAT:
        raise UserError(f"{path} is not a difflab classifier (metadata format is {header.get('format')!r})")
    try:
        config = ClassifierConfig(**json.loads(header["config"]))
        names = json.loads(header["class_names"])
        with torch.device("meta"):  # the shapes first: a hostile config must not allocate anything
            expected = {k: tuple(v.shape) for k, v in Classifier(config, names).state_dict().items()}
        found = {k: tuple(v.shape) for k, v in tensors.items()}
        if expected != found or sum(map(math.prod, expected.values())) > 10 ** 8:
            raise ValueError("its tensors do not match its config")
        if not all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point()):
            raise ValueError("it holds NaN or infinite weights")
        model = Classifier(config, names)
        model.load_state_dict(tensors)
        model.metadata = json.loads(header.get("metadata", "{}"))
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise UserError(f"{path} holds an inconsistent difflab classifier: {str(err).splitlines()[0]}") from None
    return model.to(device).eval()
