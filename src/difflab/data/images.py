"""Image files of Part A: pictures and masks loaded at a model's size, and the offline test pictures.

`load_image` is the course's `process_pil_im` made robust: any common file format and mode → RGB
(or L) → shortest side resized to `size` → centre square → tensor (1, C, size, size) in
`value_range` ([-1, 1] by default). Masks are (1, 1, size, size) with values exactly {0, 1};
mask 1 = regenerate, 0 = keep. Offline test inputs: `builtin:<name>` (real photos shipped with
scikit-image) and `sketch:<name>` (hand-drawn-style pictures drawn here, `drawings`).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import UserError
from .drawings import draw_sketch


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


# -- offline test photos: scikit-image's sample pictures, read from its folder ---------------------

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
