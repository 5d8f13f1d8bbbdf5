"""Data: datasets of Part B, image files of Part A, pictures drawn here, and tensors shown as pictures.

* `datasets` — mnist-5k (offline), mnist, fashion-mnist as `ImageDataset`s;
* `images` — image and mask files loaded at a model's size, and scikit-image's sample photos;
* `drawings` — hand-drawn-style sketches and digits made here, with one `Pen`;
* `display` — the one display transform (`to_pixels`), grids, PNG and GIF files.

The names below are the package's public interface: ``from difflab.data import load_image``.
"""

from .datasets import (DATASETS, DEFAULT_DATASET, FASHION_CLASSES, MNIST_CLASSES, SPLITS, SYSTEM_FASHION_DIR,
                       DatasetInfo, ImageDataset, clear_dataset_cache, data_root, dataset_info, load_dataset,
                       mnist5k_split, read_idx)
from .display import make_grid, save_gif, save_image, save_png, to_pil, to_pixels, to_unit_range
from .drawings import SKETCHES, draw_digit, draw_sketch
from .images import (ImageSource, builtin_image, builtin_image_names, load_image, load_mask, open_image,
                     rectangle_mask, validate_mask)

__all__ = ["DATASETS", "DEFAULT_DATASET", "FASHION_CLASSES", "MNIST_CLASSES", "SPLITS", "SYSTEM_FASHION_DIR",
           "DatasetInfo", "ImageDataset", "clear_dataset_cache", "data_root", "dataset_info", "load_dataset",
           "mnist5k_split", "read_idx",
           "make_grid", "save_gif", "save_image", "save_png", "to_pil", "to_pixels", "to_unit_range",
           "SKETCHES", "draw_digit", "draw_sketch",
           "ImageSource", "builtin_image", "builtin_image_names", "load_image", "load_mask", "open_image",
           "rectangle_mask", "validate_mask"]
